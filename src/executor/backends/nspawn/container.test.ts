import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { writeBusyboxTree } from '../../baseos/busybox.js';
import { nspawnArguments, overlayOptions, readGuestStatus, runContainer, type ContainerCommand } from './container.js';
import { containerSkipReason, reportSkip } from '../../../../test/support/capabilities.js';
import { mountsMentioning, processesWith } from '../../../../test/support/processes.js';

describe('readGuestStatus', () => {
  it('reads the status a guest wrote, and nothing a hostile guest put in its place', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'quarters-status-'));
    try {
      await writeFile(join(dir, 'ok'), '0\n');
      await writeFile(join(dir, 'failed'), '42\n');
      await writeFile(join(dir, 'junk'), 'not a number\n');
      await symlink('/etc/hostname', join(dir, 'link'));
      await symlink('/dev/zero', join(dir, 'zero'));
      execFileSync('mkfifo', [join(dir, 'fifo')]);
      expect(await readGuestStatus(join(dir, 'ok'))).toBe(0);
      expect(await readGuestStatus(join(dir, 'failed'))).toBe(42);
      expect(await readGuestStatus(join(dir, 'junk'))).toBeNull();
      expect(await readGuestStatus(join(dir, 'missing'))).toBeNull();
      // A symlink (to a host file, or to an endless device) is not followed; a FIFO does not block.
      expect(await readGuestStatus(join(dir, 'link'))).toBeNull();
      expect(await readGuestStatus(join(dir, 'zero'))).toBeNull();
      expect(await readGuestStatus(join(dir, 'fifo'))).toBeNull();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('overlayOptions and nspawnArguments', () => {
  it('stacks lowers uppermost first and refuses paths overlayfs cannot express', () => {
    expect(overlayOptions({ lowers: ['/i/upper', '/b/root'], upper: '/w/u', work: '/w/w', root: '/w/r' })).toBe('lowerdir=/i/upper:/b/root,upperdir=/w/u,workdir=/w/w');
    expect(() => overlayOptions({ lowers: ['/a:b'], upper: '/u', work: '/w', root: '/r' })).toThrow(/cannot take/);
  });

  it('isolates the network unless asked, and registers only where systemd runs', () => {
    const spec: ContainerCommand = { machine: 'm-1', lowers: ['/b'], upper: '/u', work: '/w', root: '/r', command: ['true'] };
    const plain = nspawnArguments(spec, '/s', false);
    expect(plain).toContain('--private-network');
    expect(plain).toContain('--register=no');
    const systemd = nspawnArguments({ ...spec, network: true, limits: { memoryMib: 1024, cpus: 1.5 } }, '/s', true);
    expect(systemd).not.toContain('--private-network');
    expect(systemd).not.toContain('--register=no');
    expect(systemd).toContain('--property=MemoryMax=1024M');
    expect(systemd).toContain('--property=CPUQuota=150%');
    expect(() => nspawnArguments({ ...spec, machine: 'bad name' }, '/s', false)).toThrow(/machine name/);
  });

  it('runs in a user namespace from idBase, idmapping read-only and host-shared binds only', () => {
    const binds = [{ host: '/p', guest: '/p', hostIds: true }, { host: '/o', guest: '/output' }, { host: '/d', guest: '/driver', readOnly: true }];
    const spec: ContainerCommand = { machine: 'm-1', lowers: ['/b'], upper: '/u', work: '/w', root: '/r', command: ['true'], binds, idBase: 0x70000000 };
    const args = nspawnArguments(spec, '/s', false);
    expect(args).toContain('--private-users=1879048192:65536');
    expect(args).toContain('--private-users-ownership=off');
    expect(args).toEqual(expect.arrayContaining(['--bind=/p:/p:idmap', '--bind=/o:/output', '--bind-ro=/d:/driver:idmap', '--bind=/s:/run/quarters-status']));
    // The outbound network's namespace is entered before nspawn, not joined by it.
    expect(nspawnArguments({ ...spec, network: 'outbound', networkNamespace: '/run/netns/x' }, '/s', false).join(' ')).not.toContain('--network-namespace-path');
    const without = nspawnArguments({ ...spec, idBase: null }, '/s', false);
    expect(without.join(' ')).not.toMatch(/private-users|idmap/);
  });
});

const skip = reportSkip(containerSkipReason(), 'runContainer');

describe.skipIf(skip)('runContainer (real overlayfs + systemd-nspawn)', () => {
  let dir: string;
  let base: string;
  let n = 0;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'quarters-container-test-'));
    base = join(dir, 'base');
    await mkdir(base);
    await writeBusyboxTree(base);
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function layers(name: string): Promise<Pick<ContainerCommand, 'machine' | 'lowers' | 'upper' | 'work' | 'root'>> {
    const job = join(dir, name);
    for (const sub of ['upper', 'work', 'root']) await mkdir(join(job, sub), { recursive: true });
    return { machine: `qtest-${process.pid}-${name}-${n++}`, lowers: [base], upper: join(job, 'upper'), work: join(job, 'work'), root: join(job, 'root') };
  }

  function collect(): { stream: Writable; text: () => string } {
    const chunks: Buffer[] = [];
    return { stream: new Writable({ write: (c: Buffer, _e, cb) => { chunks.push(c); cb(); } }), text: () => Buffer.concat(chunks).toString() };
  }

  it('runs a command, reports its status, keeps its writes in the upper layer only', async () => {
    const l = await layers('basic');
    const out = collect();
    const first = await runContainer({ ...l, command: ['sh', '-c', 'echo made > /etc/made; cat /usr/lib/os-release; exit 3'], stdout: out.stream });
    expect(first.exitCode).toBe(3);
    expect(out.text()).toContain('ID=busybox');
    expect(readFileSync(join(l.upper, 'etc/made'), 'utf8')).toBe('made\n');
    expect(existsSync(join(base, 'etc/made'))).toBe(false);
    const second = await runContainer({ ...l, command: ['cat', '/etc/made'], stdout: 'ignore' });
    expect(second.exitCode).toBe(0);
    expect(mountsMentioning(l.root)).toEqual([]);
    expect(await readdir(l.root)).toEqual([]);
  });

  it('gives a private network by default and the host network on request', async () => {
    const l = await layers('net');
    const isolated = collect();
    // /proc/net/dev lists the interfaces of the caller's network namespace.
    const interfaces = (text: string): string[] => text.split('\n').slice(2).map((line) => line.split(':')[0]!.trim()).filter(Boolean).sort();
    await runContainer({ ...l, command: ['cat', '/proc/net/dev'], stdout: isolated.stream });
    expect(interfaces(isolated.text())).toEqual(['lo']);
    const shared = collect();
    await runContainer({ ...l, command: ['cat', '/proc/net/dev'], network: true, stdout: shared.stream });
    expect(interfaces(shared.text())).toEqual(interfaces(readFileSync('/proc/net/dev', 'utf8')));
  });

  it('binds host directories read-only or read-write, and passes the environment', async () => {
    const l = await layers('binds');
    const ro = join(dir, 'ro');
    const rw = join(dir, 'rw');
    await mkdir(ro);
    await mkdir(rw);
    await writeFile(join(ro, 'in'), 'input');
    const result = await runContainer({
      ...l,
      command: ['sh', '-c', 'cat /in/in > /out/copy; echo "$GREETING" >> /out/copy; touch /in/nope'],
      env: { GREETING: 'hello', PATH: '/bin:/usr/bin' },
      binds: [{ host: ro, guest: '/in', readOnly: true }, { host: rw, guest: '/out' }],
      stderr: 'ignore',
    });
    expect(result.exitCode).not.toBe(0);
    expect(readFileSync(join(rw, 'copy'), 'utf8')).toBe('inputhello\n');
    expect(existsSync(join(ro, 'nope'))).toBe(false);
  });

  it('tells a broken base (no /bin/sh) apart from a failing command', async () => {
    const broken = join(dir, 'broken');
    await mkdir(join(broken, 'usr/lib'), { recursive: true });
    await writeFile(join(broken, 'usr/lib/os-release'), 'ID=broken\n');
    const l = await layers('broken');
    const result = await runContainer({ ...l, lowers: [broken], command: ['true'], stderr: 'ignore' });
    expect(result.exitCode).toBeNull();
    expect(mountsMentioning(l.root)).toEqual([]);
  });

  it('stops the container on abort: no process and no mount left', async () => {
    const l = await layers('abort');
    const marker = `quarters-abort-marker-${process.pid}`;
    const controller = new AbortController();
    const started = Date.now();
    // The marker is an argument of a process inside each container, so finding it proves the container runs.
    const running = runContainer({ ...l, command: ['sh', '-c', 'sleep 300; : "$0"', marker], signal: controller.signal, stderr: 'ignore' });
    const child = runContainer({ ...(await layers('abort2')), command: ['sh', '-c', 'sleep 300 & wait; : "$0"', marker], signal: controller.signal, stderr: 'ignore' });
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(processesWith(marker).length).toBeGreaterThan(0);
    controller.abort();
    const [a, b] = await Promise.all([running, child]);
    expect(a.exitCode).toBeNull();
    expect(b.exitCode).toBeNull();
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(processesWith(marker)).toEqual([]);
    expect(mountsMentioning(l.root)).toEqual([]);
  });

  it('measures the peak memory of the container and enforces a memory limit', async () => {
    const l = await layers('memory');
    // 64 MiB held in a shell variable: the peak must show it.
    const grow = 'x=$(head -c 67108864 /dev/zero | tr "\\0" a); echo ${#x}';
    const measured = await runContainer({ ...l, command: ['sh', '-c', grow], measure: true, stdout: 'ignore' });
    expect(measured.exitCode).toBe(0);
    if (measured.peakMemoryBytes === null) {
      process.stderr.write('SKIPPED peak memory assertions: no usable cgroup on this host\n');
      return;
    }
    expect(measured.peakMemoryBytes).toBeGreaterThan(64 * 1024 * 1024);
    const limited = await runContainer({ ...(await layers('memory-limit')), command: ['sh', '-c', grow], limits: { memoryMib: 32, cpus: 0 }, stdout: 'ignore', stderr: 'ignore' });
    expect(limited.exitCode).not.toBe(0);
  });
});
