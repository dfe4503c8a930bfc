/**
 * What a job cannot do through its variables and the files its host user writes: each test is the
 * attack, run through the runner emulator and the real bundle.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { connect, createServer as createNetServer, type AddressInfo, type Server as NetServer } from 'node:net';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { runJob, type EmulatedJob } from '../runner-emulator/emulator.js';
import { createExecutorFixture, EXECUTOR, TEST_HOST_USER, type ExecutorFixture } from '../support/executor-fixture.js';
import { backendSkipReason, containerSkipReason, reportSkip, TEST_BACKENDS } from '../support/capabilities.js';
import { waitFor } from '../support/processes.js';

const skip = reportSkip(containerSkipReason(), 'trust boundary of job variables and files');
const [hostUid, hostGid] = TEST_HOST_USER.split(':');

/** Runs a shell command as the host user, as a leftover host-stage process would. */
function asHostUser(command: string): { ok: boolean; stderr: string } {
  try {
    execFileSync('setpriv', ['--reuid', hostUid!, '--regid', hostGid!, '--clear-groups', 'sh', '-c', command], { stdio: ['ignore', 'ignore', 'pipe'] });
    return { ok: true, stderr: '' };
  } catch (error) {
    return { ok: false, stderr: String((error as { stderr?: Buffer }).stderr ?? '') };
  }
}

describe.skipIf(skip)('a job cannot reach past itself', () => {
  let fx: ExecutorFixture;
  /** A root-only directory with a root-only file: what every attack below aims at. */
  let rootOnly: string;
  const secret = 'root-only content\n';

  beforeAll(async () => {
    fx = await createExecutorFixture();
    rootOnly = join(fx.dir, 'root-only');
    await mkdir(rootOnly, { mode: 0o700 });
    await writeFile(join(rootOnly, 'file'), secret, { mode: 0o600 });
  });
  afterAll(async () => {
    await fx?.remove();
  });

  const rootOnlyUntouched = (): void => {
    expect(readdirSync(rootOnly).sort()).toEqual(['file']);
    expect(readFileSync(join(rootOnly, 'file'), 'utf8')).toBe(secret);
    const info = statSync(join(rootOnly, 'file'));
    expect([info.uid, info.gid, info.mode & 0o7777]).toEqual([0, 0, 0o600]);
    const dir = statSync(rootOnly);
    expect([dir.uid, dir.mode & 0o7777]).toEqual([0, 0o700]);
  };
  const nameOf = (job: EmulatedJob): string => `q-emulatr1-p${job.projectId}-c${job.concurrentProjectId ?? job.concurrentId ?? 0}-j${job.id}`;
  const projectDirOf = (job: EmulatedJob): string => join(fx.workDir, 'builds', nameOf(job), 'group', `project-${job.projectId}`);
  /** A step that waits in the project directory for `release` (written by the test), having touched `started`. */
  const waitingStep = ['touch started', 'i=0; while [ ! -f release ]; do sleep 0.1; i=$((i+1)); [ $i -lt 1200 ] || exit 9; done'];

  it('a job setting CI_PROJECT_ID or CI_CONCURRENT_PROJECT_ID to another job\'s cannot reclaim (kill) it: refused, and the other job succeeds', async () => {
    const victim: EmulatedJob = { id: 701, projectId: 71, concurrentId: 0, steps: [{ name: 'script', script: waitingStep }] };
    const running = runJob(victim, { executor: EXECUTOR, env: fx.env });
    expect(await waitFor(() => existsSync(join(projectDirOf(victim), 'started')), 60_000)).toBe(true);

    // Another project claiming project 71's slot.
    const otherProject = await runJob({ id: 702, projectId: 72, concurrentId: 0, variables: { CI_PROJECT_ID: '71', CI_CONCURRENT_PROJECT_ID: '0' }, steps: [{ name: 'script', script: ['true'] }] }, { executor: EXECUTOR, env: fx.env });
    expect(otherProject.outcome).toBe('system_failure');
    expect(otherProject.trace).toMatch(/CUSTOM_ENV_CI_PROJECT_ID: is 71, but job 702 belongs to project 72/);
    // A job of the same project claiming the victim's concurrency slot.
    const sameProject = await runJob({ id: 703, projectId: 71, concurrentId: 1, variables: { CI_CONCURRENT_PROJECT_ID: '0' }, steps: [{ name: 'script', script: ['true'] }] }, { executor: EXECUTOR, env: fx.env });
    expect(sameProject.outcome).toBe('system_failure');
    expect(sameProject.trace).toMatch(/CUSTOM_ENV_CI_CONCURRENT_PROJECT_ID: is set by the job/);
    // Or another job's id.
    const otherId = await runJob({ id: 704, projectId: 71, concurrentId: 2, variables: { CI_JOB_ID: '701' }, steps: [{ name: 'script', script: ['true'] }] }, { executor: EXECUTOR, env: fx.env });
    expect(otherId.outcome).toBe('system_failure');
    expect(otherId.trace).toMatch(/CUSTOM_ENV_CI_JOB_ID: is 701, but GitLab gave the runner job 704/);

    await writeFile(join(projectDirOf(victim), 'release'), '');
    const result = await running;
    expect(result.outcome, result.trace).toBe('success');
  });

  it('a link the host user puts in scripts/ never makes root write or chown its target', async () => {
    const job: EmulatedJob = { id: 711, projectId: 73, steps: [{ name: 'script', script: [...waitingStep, 'echo artefact > artefact'] }], artifactPaths: ['artefact'] };
    const running = runJob(job, { executor: EXECUTOR, env: fx.env });
    expect(await waitFor(() => existsSync(join(projectDirOf(job), 'started')), 60_000)).toBe(true);
    const scripts = join(fx.workDir, 'workspaces', nameOf(job), 'scripts');
    const planted = join(scripts, 'upload_artifacts_on_success.host.sh');
    // The host user cannot plant it: scripts/ is root's.
    const attempt = asHostUser(`ln -s ${join(rootOnly, 'file')} ${planted}`);
    expect(attempt.ok).toBe(false);
    expect(attempt.stderr).toMatch(/Permission denied/);
    // And a link there (as an older executor's host-user-owned scripts/ could hold) is replaced, not followed.
    execFileSync('ln', ['-s', join(rootOnly, 'file'), planted]);
    await writeFile(join(projectDirOf(job), 'release'), '');
    const result = await running;
    expect(result.outcome, result.trace).toBe('success');
    expect(readFileSync(join(result.artifactsDir!, 'artefact'), 'utf8')).toBe('artefact\n');
    rootOnlyUntouched();
  });

  it('a .git/config link the host user planted is refused by the credential scrub, its target unchanged', async () => {
    const token = 'glcbt-721-secret-job-token';
    const job: EmulatedJob = { id: 721, projectId: 74, token, steps: [{ name: 'script', script: ['true'] }] };
    // The token in the target, so a scrub that followed the link would rewrite it.
    const target = join(fx.dir, 'root-only-git-config');
    await writeFile(target, `[remote "origin"]\n\turl = https://gitlab-ci-token:${token}@gitlab.example.org/x.git\n`, { mode: 0o600 });
    const before = readFileSync(target, 'utf8');
    const result = await runJob(job, {
      executor: EXECUTOR,
      env: fx.env,
      // After prepare made the project directory, before get_sources: as a leftover host-user process would.
      onCommand: (verb, stage) => {
        if (verb === 'run' && stage === 'prepare_script') expect(asHostUser(`mkdir -p ${projectDirOf(job)}/.git && ln -s ${target} ${projectDirOf(job)}/.git/config`).ok).toBe(true);
      },
    });
    expect(result.outcome).toBe('system_failure');
    expect(result.trace).toMatch(/\.git\/config is not the directory or file the executor made .*: refused/);
    expect(readFileSync(target, 'utf8')).toBe(before);
    expect(statSync(target).uid).toBe(0);
  });

  it('a project directory swapped for a link to a root-only directory between stages is refused: system failure, the directory untouched', async () => {
    const job: EmulatedJob = { id: 731, projectId: 75, steps: [{ name: 'script', script: waitingStep }, { name: 'second', script: ['touch pwned', 'chmod 777 .'] }], afterScript: ['touch after-pwned'] };
    const running = runJob(job, { executor: EXECUTOR, env: fx.env });
    const project = projectDirOf(job);
    expect(await waitFor(() => existsSync(join(project, 'started')), 60_000)).toBe(true);
    expect(asHostUser(`mv ${project} ${project}.orig && ln -s ${rootOnly} ${project}`).ok).toBe(true);
    // The running step still has the directory it was given.
    await writeFile(join(`${project}.orig`, 'release'), '');
    const result = await running;
    expect(result.outcome).toBe('system_failure');
    expect(result.commands.find((c) => c.stage === 'step_script')?.exitCode).toBe(0);
    expect(result.commands.find((c) => c.stage === 'step_second')?.exitCode).toBe(2);
    expect(result.trace).toMatch(/the project directory cannot be given to the guest: .* is not the directory or file the executor made/);
    rootOnlyUntouched();
  });
});

/** What a TCP service at ADDRESS:PORT says, read from the host (asynchronously: some of them are this process's). */
async function answerFrom(target: string): Promise<string> {
  const [address, port] = target.split(':');
  const socket = connect(Number(port), address!);
  socket.setTimeout(5000, () => socket.destroy(new Error(`${target} did not answer`)));
  const chunks: Buffer[] = [];
  for await (const chunk of socket) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString();
}

/** Removes the outside network of this run, and any an earlier, killed run left. */
function removeOutsideNetworks(): void {
  execFileSync('sh', ['-c', 'for n in $(ip netns list | awk \'/^qtb-outside-/ {print $1}\'); do ip netns pids $n | xargs -r kill -9; ip netns del $n; done; for l in $(ip -o link | grep -o "qtbh[0-9]*"); do ip link del $l; done; true'], { stdio: 'ignore' });
}

/** A network outside the host: a namespace behind a veth pair, its end 10.231.7.1 (the host's), the far end .2, .3 and .4 (not the host's). */
const OUTSIDE = { ns: `qtb-outside-${process.pid}`, hostIf: `qtbh${process.pid % 100_000}`, peerIf: 'qtbpeer', hostAddress: '10.231.7.1', reachable: '10.231.7.2', server: '10.231.7.3', configured: '10.231.7.4', port: 47_123 };

// On both backends: a container's fetch step runs in a namespace of its own, a VM's qemu (user-mode networking) in the same kind of namespace.
for (const backend of TEST_BACKENDS) {
const noNft = execFileSync('sh', ['-c', 'command -v nft || true']).length === 0 ? 'nft is missing (apt-get install nftables)' : null;
describe.skipIf(reportSkip(backendSkipReason(backend) ?? noNft, `the fetch step's network (${backend})`))(`the fetch step cannot reach the host or the quarters server (${backend} backend)`, { timeout: backend === 'qemu' ? 600_000 : 120_000 }, () => {
  let fx: ExecutorFixture;
  let outside: ChildProcess;
  /** The host's services: one on every address (0.0.0.0), one on the host's own non-loopback address only. */
  const host = { address: '', any: null as NetServer | null, own: null as NetServer | null, connections: 0 };
  const ip = (...args: string[]): void => void execFileSync('ip', args, { stdio: 'ignore' });

  beforeAll(async () => {
    removeOutsideNetworks();
    host.address = Object.values(networkInterfaces()).flatMap((list) => list ?? []).find((a) => a.family === 'IPv4' && !a.internal && !a.address.startsWith('10.231.7.'))!.address;
    const listen = async (address: string): Promise<NetServer> => {
      const server = createNetServer((socket) => {
        host.connections++;
        socket.end('HOST SERVICE\n');
      });
      await new Promise<void>((resolve) => server.listen(0, address, resolve));
      return server;
    };
    host.any = await listen('0.0.0.0');
    host.own = await listen(host.address);
    ip('netns', 'add', OUTSIDE.ns);
    ip('link', 'add', OUTSIDE.hostIf, 'type', 'veth', 'peer', 'name', OUTSIDE.peerIf, 'netns', OUTSIDE.ns);
    ip('addr', 'add', `${OUTSIDE.hostAddress}/24`, 'dev', OUTSIDE.hostIf);
    ip('link', 'set', OUTSIDE.hostIf, 'up');
    for (const address of [OUTSIDE.reachable, OUTSIDE.server, OUTSIDE.configured]) ip('-n', OUTSIDE.ns, 'addr', 'add', `${address}/24`, 'dev', OUTSIDE.peerIf);
    ip('-n', OUTSIDE.ns, 'link', 'set', OUTSIDE.peerIf, 'up');
    ip('-n', OUTSIDE.ns, 'link', 'set', 'lo', 'up');
    // A service outside, answering on all three of its addresses with the one it was reached at.
    outside = spawn('ip', ['netns', 'exec', OUTSIDE.ns, process.execPath, '-e', `require('net').createServer((s) => s.end('OUTSIDE SERVICE at ' + s.localAddress + '\\n')).listen(${OUTSIDE.port}, '0.0.0.0', () => console.log('listening'))`], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise((resolve) => outside.stdout!.once('data', resolve));
    const probe = [
      'grep CapEff /proc/self/status > /var/tmp/probe',
      'for t in $QUARTERS_PROBES; do echo "$t: $(echo | nc -w 3 ${t%:*} ${t#*:} 2>&1)"; done >> /var/tmp/probe',
    ].join('\n');
    fx = await createExecutorFixture([
      `[server]\nurl = "http://${OUTSIDE.server}:${OUTSIDE.port}/"`,
      `[network]\nblocked_networks = ["${OUTSIDE.configured}/32"]\nfetch_command = ["sh", "-c", ${JSON.stringify(probe)}]`,
    ].join('\n'), { backend });
  }, 300_000);
  afterAll(async () => {
    outside?.kill();
    host.any?.close();
    host.own?.close();
    removeOutsideNetworks();
    await fx?.remove();
  });

  it('the host\'s services on its own addresses, the quarters server and blocked_networks are refused; an address outside is reached', async () => {
    const port = (server: NetServer | null): number => (server!.address() as AddressInfo).port;
    const targets = {
      hostAny: `${host.address}:${port(host.any)}`,
      hostOwn: `${host.address}:${port(host.own)}`,
      hostVeth: `${OUTSIDE.hostAddress}:${port(host.any)}`,
      outside: `${OUTSIDE.reachable}:${OUTSIDE.port}`,
      server: `${OUTSIDE.server}:${OUTSIDE.port}`,
      configured: `${OUTSIDE.configured}:${OUTSIDE.port}`,
    };
    // From the host, every one of them answers: what stops the guest is the block, not the network.
    for (const target of Object.values(targets)) expect(await answerFrom(target), target).toMatch(/SERVICE/);
    const before = host.connections;
    const job: EmulatedJob = { id: 741, projectId: 76, variables: { QUARTERS_PROBES: Object.values(targets).join(' ') }, steps: [{ name: 'script', script: ['cat /var/tmp/probe'] }] };
    const result = await runJob(job, { executor: EXECUTOR, env: fx.env });
    expect(result.outcome, result.trace).toBe('success');
    // A container's connect is rejected at once; qemu's user-mode network swallows the rejection, so a VM's connect times out.
    const refused = (target: string): RegExp => new RegExp(`${target}: nc: (can't connect to remote host \\(${target.split(':')[0]!.replace(/\./g, '\\.')}\\): No route to host${backend === 'qemu' ? '|timed out' : ''})`);
    for (const name of ['hostAny', 'hostOwn', 'hostVeth', 'server', 'configured'] as const) expect(result.trace, name).toMatch(refused(targets[name]));
    expect(result.trace).toContain(`${targets.outside}: OUTSIDE SERVICE at ${OUTSIDE.reachable}`);
    expect(host.connections).toBe(before);
    // Guest root holds no CAP_NET_ADMIN (bit 12) over the namespace: it cannot remove the block. (A VM's
    // root holds it over the VM's own network only; the block is in the host's namespace around qemu.)
    const capEff = BigInt(`0x${/CapEff:\s+([0-9a-f]+)/.exec(result.trace)![1]}`);
    if (backend === 'nspawn') expect(capEff & (1n << 12n)).toBe(0n);
    expect(capEff & (1n << 21n)).not.toBe(0n);
  });
});
}
