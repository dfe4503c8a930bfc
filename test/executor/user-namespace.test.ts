/**
 * Root in the guest is root of a user namespace only (isolation.user_namespace): what it makes in the
 * host-visible places it writes (its own "/", the writable layer under the workspace; /output) belongs
 * to an unprivileged host uid, a setuid-root program it leaves there gives at best that uid, and a
 * root-only host file bound read-only stays unwritable even when the guest remounts it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { chmod, copyFile, mkdir, readFile, readlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { stageScript } from '../runner-emulator/emulator.js';
import { containerSkipReason, reportSkip } from '../support/capabilities.js';
import { createExecutorFixture, type ExecutorFixture } from '../support/executor-fixture.js';
import { mountsMentioning } from '../support/processes.js';

/** Not the default: a test that passes must have configured the range the executor used. */
const ID_BASE = 0x7fe00000;
const DRIVER_TEXT = '#!/bin/sh\necho the root-only build driver\n';

/** What the guest tries, as root, in the build stage. */
const ATTACK = [
  'cd "$CI_PROJECT_DIR"',
  'echo "uid_map: $(cat /proc/self/uid_map | tr -s " " | sed "s/^ //")"',
  // Its own root filesystem: on the host, the writable layer below the workspace.
  'cp id-probe /made-by-root && chown 0:0 /made-by-root && chmod 4755 /made-by-root',
  // /output, which the executor reads on the host.
  'touch "$QUARTERS_OUTPUT_DIR/by-root" && cp id-probe "$QUARTERS_OUTPUT_DIR/id-probe" && chown 0:0 "$QUARTERS_OUTPUT_DIR/id-probe" && chmod 4755 "$QUARTERS_OUTPUT_DIR/id-probe"',
  // The project directory, which host users share: there the guest writes with the host's ids (nosuid,nodev keeps them inert).
  'cp id-probe id-probe-root && chown 0:0 id-probe-root && chmod 4755 id-probe-root',
  'su -s /bin/sh nobody -c "touch by-build-user"',
  // A root-only host file bound read-only (the build driver): written directly, then after a remount.
  '{ echo tampered >> /usr/local/bin/quarters-build; } 2>/dev/null && echo "driver: written" || echo "driver: not written"',
  'mount -o remount,bind,rw /usr/local/bin/quarters-build 2>/dev/null && echo "remount: done" || echo "remount: refused"',
  '{ echo tampered >> /usr/local/bin/quarters-build; } 2>/dev/null && echo "driver after remount: written" || echo "driver after remount: not written"',
  // Kernel settings are the host's (written with the value they have).
  '{ cat /proc/sys/vm/swappiness > /proc/sys/vm/swappiness; } 2>/dev/null && echo "sysctl: written" || echo "sysctl: refused"',
  // Device nodes are the host's to make.
  'mknod zero c 1 5 2>/dev/null && echo "mknod: done" || echo "mknod: refused"',
];

/** The effective uid an unprivileged host user gets from running the setuid `probe` (coreutils' id). */
async function uidFromProbe(probe: string): Promise<string> {
  return (await execa('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', probe, '-u'])).stdout.trim();
}

describe.skipIf(reportSkip(containerSkipReason(), 'user namespaces'))('quarters-executor with isolation.user_namespace: root in the guest on the host', () => {
  let fx: ExecutorFixture;
  let driver: string;

  beforeAll(async () => {
    fx = await createExecutorFixture('', { loadBase: false });
    driver = join(fx.dir, 'root-only-driver');
    await writeFile(driver, DRIVER_TEXT);
    await chmod(driver, 0o700);
    await fx.writeConfig(`build_driver = "${driver}"\n[isolation]\nid_base = ${ID_BASE}`);
    const loaded = await fx.cli(['baseos', 'load', '--busybox']);
    expect(loaded.exitCode, loaded.stderr).toBe(0);
  });
  afterAll(async () => {
    await fx?.remove();
  });

  it('gives what guest root leaves in host-visible places to an unprivileged uid, and no write to a root-only bind', { timeout: 120_000 }, async () => {
    const jobId = 901;
    const env = { CUSTOM_ENV_CI_JOB_ID: String(jobId), CUSTOM_ENV_CI_PROJECT_ID: '90' };
    const prepared = await fx.cli(['prepare'], env);
    try {
      await attack(env, jobId);
    } finally {
      const cleaned = await fx.cli(['cleanup'], env);
      expect(cleaned.exitCode, cleaned.stderr).toBe(0);
    }
    expect(prepared.exitCode, prepared.stderr).toBe(0);
    expect(mountsMentioning(fx.dir)).toEqual([]);
    expect(readdirSync(join(fx.workDir, 'workspaces'))).toEqual([]);
  });

  /** Runs ATTACK in the prepared job and checks, before cleanup, what it left on the host. */
  async function attack(env: Record<string, string>, jobId: number): Promise<void> {
    const name = readdirSync(join(fx.workDir, 'workspaces')).find((n) => n.endsWith(`-j${jobId}`))!;
    const state = JSON.parse(await readFile(join(fx.workDir, 'workspaces', name, 'state.json'), 'utf8')) as { buildsDir: string; outputDir: string; mount: { mountPoint: string } };
    // As get_sources would check it out: an ordinary executable of the host user's.
    await copyFile('/usr/bin/id', join(state.buildsDir, 'id-probe'));
    await execa('chown', ['65534:65534', join(state.buildsDir, 'id-probe')]);
    const scripts = join(fx.dir, `scripts-${jobId}`);
    await mkdir(scripts);
    await writeFile(join(scripts, 'script'), stageScript({ CI_PROJECT_DIR: state.buildsDir }, ATTACK), { mode: 0o700 });
    const ran = await fx.cli(['run', join(scripts, 'script'), 'step_script'], env);
    expect(ran.exitCode, ran.stderr).toBe(0);
    const output = ran.stdout;

    // Not the identity map: guest uid 0 is host uid ID_BASE.
    expect(output).toContain(`uid_map: 0 ${ID_BASE} 65536`);

    // The guest's "/" and /output: root's files there are the guest root's host uid, not host root's.
    const upper = join(state.mount.mountPoint, 'layer', 'upper');
    for (const file of [join(upper, 'made-by-root'), join(state.outputDir, 'by-root'), join(state.outputDir, 'id-probe')]) {
      expect(statSync(file).uid, file).toBe(ID_BASE);
      expect(statSync(file).gid, file).toBe(ID_BASE);
    }
    for (const probe of [join(upper, 'made-by-root'), join(state.outputDir, 'id-probe')]) {
      expect(statSync(probe).mode & 0o7777, probe).toBe(0o4755);
      // Copied with its owner and mode to where the host honours setuid bits (not the nosuid,nodev job mount): it gives ID_BASE, never root.
      const honoured = join(fx.dir, `honoured-${statSync(probe).ino}`);
      await execa('cp', ['-p', probe, honoured]);
      expect(statSync(honoured).mode & 0o7777, honoured).toBe(0o4755);
      expect(await uidFromProbe(honoured), probe).toBe(String(ID_BASE));
    }

    // The project directory keeps the host's ids (the build user's file is the host user's); root's file there is host root's, and inert.
    expect(statSync(join(state.buildsDir, 'by-build-user')).uid).toBe(65534);
    const projectProbe = join(state.buildsDir, 'id-probe-root');
    expect(statSync(projectProbe).uid).toBe(0);
    expect(statSync(projectProbe).mode & 0o7777).toBe(0o4755);
    expect(await uidFromProbe(projectProbe)).toBe('65534');

    // The root-only file bound read-only: neither written nor remounted writable.
    expect(output).toContain('driver: not written');
    expect(output).toContain('remount: refused');
    expect(output).toContain('driver after remount: not written');
    expect(await readFile(driver, 'utf8')).toBe(DRIVER_TEXT);
    expect(output).toContain('mknod: refused');
    expect(output).toContain('sysctl: refused');
  }

  it('keeps each base OS version\'s own tree with the host\'s ids, and the guests\' copy beside it', async () => {
    const version = join(fx.workDir, 'baseos', 'versions', await readlink(join(fx.workDir, 'baseos', 'current')).then((link) => link.split('/').pop()!));
    expect(statSync(join(version, 'root', 'bin', 'busybox')).uid).toBe(0);
    const shifted = join(version, `root-ids-${ID_BASE}`);
    expect(statSync(join(shifted, 'bin', 'busybox')).uid).toBe(ID_BASE);
    expect(statSync(join(shifted, 'home', 'build')).uid).toBe(ID_BASE + 1000);
    // An update runs in the guests' ids and is stored back with the host's.
    const updated = await fx.cli(['baseos', 'update']);
    expect(updated.exitCode, updated.stderr).toBe(0);
    const next = join(fx.workDir, 'baseos', 'versions', (await readlink(join(fx.workDir, 'baseos', 'current'))).split('/').pop()!);
    expect(next).not.toBe(version);
    expect(statSync(join(next, 'root', 'bin', 'busybox')).uid).toBe(0);
    expect(statSync(join(next, 'root', 'home', 'build')).uid).toBe(1000);
    expect(statSync(join(next, `root-ids-${ID_BASE}`, 'home', 'build')).uid).toBe(ID_BASE + 1000);
    expect(existsSync(join(next, `.root-ids-${ID_BASE}.staging`))).toBe(false);
    expect(readFileSync(join(next, 'root', 'etc', 'passwd'), 'utf8')).toContain('build:x:1000:1000');
  });

  it('rebuilds an instance made with other ids when user_namespace changes', async () => {
    const instance = join(fx.workDir, 'instances', 'stable-x86_64', 'current', 'meta.json');
    const env = { CUSTOM_ENV_CI_JOB_ID: '902', CUSTOM_ENV_CI_PROJECT_ID: '90' };
    const prepareOnce = async (): Promise<string> => {
      const prepared = await fx.cli(['prepare'], env);
      await fx.cli(['cleanup'], env);
      expect(prepared.exitCode, prepared.stderr).toBe(0);
      return prepared.stderr;
    };
    // The first may refresh (the update above made a new base version); the second finds it fresh.
    await prepareOnce();
    expect(await prepareOnce()).not.toContain('refreshing instance');
    expect(JSON.parse(readFileSync(instance, 'utf8'))).toMatchObject({ idBase: ID_BASE });
    await fx.writeConfig(`build_driver = "${driver}"\n[isolation]\nuser_namespace = false`);
    expect(await prepareOnce()).toContain('refreshing instance');
    expect(JSON.parse(readFileSync(instance, 'utf8'))).toMatchObject({ idBase: null });
  });
});
