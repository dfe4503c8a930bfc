import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { runJob, type EmulatedJob } from '../runner-emulator/emulator.js';
import { startArtifactServer, type ArtifactServer } from '../support/artifact-server.js';
import { containerSkipReason, loopSkipReason, reportSkip } from '../support/capabilities.js';
import { crashMidBuild } from '../support/mid-build.js';
import { createExecutorFixture, EXECUTOR, type ExecutorFixture } from '../support/executor-fixture.js';
import { mountsMentioning, processesWith, waitFor } from '../support/processes.js';

const LIMIT_MIB = 64;
const MiB = 1024 * 1024;
const LIMIT_REACHED = new RegExp(`the job's disk limit of ${LIMIT_MIB} MiB \\(limits\\.disk_mib\\) was reached`);

/** Loop devices whose backing file lies below `dir` (a deleted image shows as "PATH (deleted)"). */
async function loopsBelow(dir: string): Promise<string[]> {
  const { stdout } = await execa('losetup', ['--list', '--noheadings', '--output', 'NAME,BACK-FILE']);
  return stdout.split('\n').filter((line) => line.includes(dir));
}

describe.skipIf(reportSkip(loopSkipReason(), 'executor disk limit'))(`quarters-executor with limits.disk_mib = ${LIMIT_MIB}`, () => {
  let fx: ExecutorFixture;
  let repository: string;
  let server: ArtifactServer;

  beforeAll(async () => {
    server = await startArtifactServer();
    fx = await createExecutorFixture(`[server]\nurl = "${server.url}"\ntoken = "executor-token"\nupload_attempts = 1\n[limits]\ndisk_mib = ${LIMIT_MIB}`);
    repository = join(fx.dir, 'repo.git');
    await execa('sh', ['-c', `git init -q -b main "${repository}" && cd "${repository}" && echo 'pkgname=hello' > PKGBUILD && git add PKGBUILD && git -c user.name=t -c user.email=t@e commit -qm init && chown -R 65534:65534 "${repository}"`]);
  });
  afterAll(async () => {
    await server?.close();
    await fx?.remove();
  });

  const nameOf = (projectId: number, jobId: number, concurrentId = 0): string => `q-emulatr1-p${projectId}-c${concurrentId}-j${jobId}`;
  const imageOf = (name: string): string => join(fx.workDir, 'workspaces', name, 'disk.img');
  /** What the job left: its workspace, its build directory, mounts and loop devices under the fixture. */
  const leftovers = async (name: string): Promise<string[]> => [
    ...readdirSync(join(fx.workDir, 'workspaces')).filter((n) => n === name),
    ...readdirSync(join(fx.workDir, 'builds')).filter((n) => n === name),
    ...mountsMentioning(fx.dir),
    ...(await loopsBelow(fx.dir)),
  ];

  /** Runs a job whose build writes 100 MiB with `dd`; returns the result and the image's allocated size when after_script started. */
  async function overfill(jobId: number, target: string): Promise<{ result: Awaited<ReturnType<typeof runJob>>; imageBytes: number }> {
    const name = nameOf(61, jobId);
    let imageBytes = -1;
    const job: EmulatedJob = { id: jobId, projectId: 61, repository, steps: [{ name: 'script', script: [`dd if=/dev/zero of=${target} bs=1M count=100`, 'echo NOT REACHED'] }], afterScript: ['echo "after: $CI_JOB_STATUS"'] };
    const result = await runJob(job, {
      executor: EXECUTOR,
      env: fx.env,
      onCommand: (_verb, stage) => {
        if (stage === 'after_script') imageBytes = statSync(imageOf(name)).blocks * 512;
      },
    });
    return { result, imageBytes };
  }

  it.each([
    ['its build directory', 601, 'big'],
    ['the container\'s own tree (the overlay\'s writable layer)', 602, '/var/tmp/big'],
    ['its output directory', 603, '"$QUARTERS_OUTPUT_DIR/big"'],
  ])('fails a build that writes past the limit in %s, with the build-failure code and the limit named; the host gave no more than the limit', async (_where, jobId, target) => {
    const { result, imageBytes } = await overfill(jobId, target);
    expect(result.outcome, result.trace).toBe('script_failure');
    expect(result.commands.find((c) => c.stage === 'step_script')?.exitCode).toBe(1);
    expect(result.trace).toMatch(/No space left on device/);
    expect(result.trace).toMatch(LIMIT_REACHED);
    expect(result.trace).not.toContain('NOT REACHED');
    // The image is sparse and the filesystem was full: the host gave the job no more than the limit.
    expect(imageBytes).toBeGreaterThan(40 * MiB);
    expect(imageBytes).toBeLessThanOrEqual(LIMIT_MIB * MiB);
    // A full disk does not keep after_script from running, nor warns again about it.
    expect(result.trace).toContain('after: failed');
    expect(result.trace).not.toContain('warning');
    expect(await leftovers(nameOf(61, jobId))).toEqual([]);
  });

  it('runs a build within the limit: host stages write on the disk as the host user, outputs and artifacts arrive intact', async () => {
    server.received.length = 0;
    const result = await runJob({
      id: 604,
      projectId: 61,
      repository,
      variables: { QUARTERS_SERVER_URL: server.url, QUARTERS_BUILD_ID: '604' },
      steps: [{ name: 'script', script: [
        'echo "clone owned by $(stat -c %u PKGBUILD)"',
        'dd if=/dev/zero of=/var/tmp/twenty bs=1M count=20 2>/dev/null',
        'seq 1 300000 > numbers',
        'sha256sum numbers | cut -d" " -f1 > numbers.sha256',
        'cp numbers "$QUARTERS_OUTPUT_DIR/numbers-1-1-any.pkg.tar.zst"',
      ] }],
      artifactPaths: ['numbers', 'numbers.sha256'],
    }, { executor: EXECUTOR, env: fx.env });
    expect(result.outcome, result.trace).toBe('success');
    expect(result.trace).toContain('clone owned by 65534');
    expect(result.trace).toContain(`disk limit ${LIMIT_MIB} MiB`);
    expect(result.trace).not.toMatch(/disk.*(was full|was reached)/);
    const numbers = readFileSync(join(result.artifactsDir!, 'numbers'));
    expect(numbers.toString().split('\n')).toHaveLength(300001);
    const sha256 = createHash('sha256').update(numbers).digest('hex');
    expect(readFileSync(join(result.artifactsDir!, 'numbers.sha256'), 'utf8').trim()).toBe(sha256);
    expect(server.received.filter((u) => u.url.includes('/artifacts/')).map((u) => [u.url, u.sha256])).toEqual([['PUT /api/v1/builds/604/artifacts/numbers-1-1-any.pkg.tar.zst', sha256]]);
    expect(await leftovers(nameOf(61, 604))).toEqual([]);
  });

  it('SIGTERM mid-build (a cancel): the stage stops and cleanup takes the disk down', async () => {
    const marker = `quarters-disk-sigterm-marker-${process.pid}`;
    const cancel = new AbortController();
    const result = await runJob(
      { id: 611, projectId: 61, steps: [{ name: 'script', script: ['dd if=/dev/zero of=some bs=1M count=5 2>/dev/null', `sh -c 'sleep 600; : ${marker}'`] }] },
      {
        executor: EXECUTOR,
        env: fx.env,
        cancel: cancel.signal,
        gracefulKillTimeoutMs: 5000,
        onCommand: (_verb, stage) => {
          if (stage === 'step_script') void waitFor(() => processesWith(marker).length > 0, 30_000).then(() => cancel.abort());
        },
      },
    );
    expect(result.outcome).toBe('canceled');
    expect(result.commands.at(-1)?.verb).toBe('cleanup');
    expect(processesWith(marker)).toEqual([]);
    expect(await leftovers(nameOf(61, 611))).toEqual([]);
  });

  it('kill -9 of executor and runner mid-build: the disk stays mounted until cleanup --stale takes it down', async () => {
    const marker = `quarters-disk-kill9-marker-${process.pid}`;
    const name = await crashMidBuild(fx, { jobId: 605, projectId: 6, concurrentId: 0, marker, body: ['dd if=/dev/zero of=some bs=1M count=5 2>/dev/null'] });
    expect(await waitFor(() => processesWith(marker).length === 0, 15_000)).toBe(true);
    // The job mount, and the running stage's bind of the project directory.
    expect(mountsMentioning(join(fx.workDir, 'workspaces', name)).length).toBe(2);
    expect(await loopsBelow(fx.dir)).toHaveLength(1);
    const stale = await fx.cli(['cleanup', '--stale']);
    expect(stale.exitCode, stale.stderr).toBe(0);
    expect(stale.stdout).toContain(`removed ${name}`);
    expect(await leftovers(name)).toEqual([]);
  });

  it('kill -9 mid-build: the next prepare in the same slot takes the dead job\'s disk down', async () => {
    const marker = `quarters-disk-kill9-next-marker-${process.pid}`;
    const name = await crashMidBuild(fx, { jobId: 606, projectId: 6, concurrentId: 3, marker });
    expect(await waitFor(() => processesWith(marker).length === 0, 15_000)).toBe(true);
    const next = await runJob({ id: 607, projectId: 6, concurrentId: 3, steps: [{ name: 'script', script: ['true'] }] }, { executor: EXECUTOR, env: fx.env });
    expect(next.outcome, next.trace).toBe('success');
    expect(next.trace).toContain(`reclaiming ${name}`);
    expect(await leftovers(name)).toEqual([]);
    expect(await leftovers(nameOf(6, 607, 3))).toEqual([]);
  });

  it('takes a job\'s disk down in full although another job\'s container, started meanwhile, holds a copy of its mounts', async () => {
    const env = { CUSTOM_ENV_CI_JOB_ID: '608', CUSTOM_ENV_CI_PROJECT_ID: '63', CUSTOM_ENV_CI_CONCURRENT_PROJECT_ID: '1', CUSTOM_ENV_CI_RUNNER_SHORT_TOKEN: 'emulatr1' };
    const name = nameOf(63, 608, 1);
    const prepared = await fx.cli(['prepare'], env);
    expect(prepared.exitCode, prepared.stderr).toBe(0);
    const marker = `quarters-disk-neighbour-marker-${process.pid}`;
    const cancel = new AbortController();
    const neighbour = runJob({ id: 609, projectId: 63, concurrentId: 2, steps: [{ name: 'script', script: [`sh -c 'sleep 600; : ${marker}'`] }] }, { executor: EXECUTOR, env: fx.env, cancel: cancel.signal, gracefulKillTimeoutMs: 5000 });
    try {
      expect(await waitFor(() => processesWith(marker).length > 0, 60_000)).toBe(true);
      // The neighbour's container runs in a mount namespace copied from the host's while the disk was mounted.
      const nspawn = processesWith('--machine=q-emulatr1-p63-c2-j609').filter((pid) => readFileSync(`/proc/${pid}/comm`, 'utf8').startsWith('systemd-nspawn'));
      expect(nspawn.length).toBeGreaterThan(0);
      expect(readFileSync(`/proc/${nspawn[0]}/mountinfo`, 'utf8')).toContain(join(fx.workDir, 'workspaces', name, 'mount'));
      const cleaned = await fx.cli(['cleanup'], env);
      expect(cleaned.exitCode, cleaned.stderr).toBe(0);
      expect(readFileSync(`/proc/${nspawn[0]}/mountinfo`, 'utf8')).not.toContain(join(fx.workDir, 'workspaces', name, 'mount'));
      expect(await loopsBelow(join(fx.workDir, 'workspaces', name))).toEqual([]);
      expect(processesWith(marker).length).toBeGreaterThan(0);
    } finally {
      cancel.abort();
      await neighbour;
    }
    expect(await leftovers(name)).toEqual([]);
  });
});

describe.skipIf(reportSkip(containerSkipReason(), 'executor disk limit without loop devices'))('quarters-executor with limits.disk_mib where no loop device can be set up', () => {
  let fx: ExecutorFixture;
  let fakeBin: string;

  beforeAll(async () => {
    fx = await createExecutorFixture(`[limits]\ndisk_mib = ${LIMIT_MIB}`);
    // As on a host without the loop module, or a container without /dev/loop*: mount cannot set a loop device up.
    fakeBin = join(fx.dir, 'no-loop-bin');
    await mkdir(fakeBin);
    const realMount = (await execa('sh', ['-c', 'command -v mount'])).stdout.trim();
    await writeFile(join(fakeBin, 'mount'), `#!/bin/sh\ncase "$*" in *loop,*) echo "mount: $5: failed to setup loop device for $4." >&2; exit 32;; esac\nexec ${realMount} "$@"\n`);
    await chmod(join(fakeBin, 'mount'), 0o755);
  });
  afterAll(async () => {
    await fx?.remove();
  });

  it('fails prepare with a system failure naming limits.disk_mib, and leaves nothing after cleanup', async () => {
    const env = { CUSTOM_ENV_CI_JOB_ID: '610', CUSTOM_ENV_CI_PROJECT_ID: '64', PATH: `${fakeBin}:${process.env.PATH ?? ''}` };
    const prepared = await fx.cli(['prepare'], env);
    expect(prepared.exitCode).toBe(2);
    expect(prepared.stderr).toMatch(/system failure: limits\.disk_mib = 64 gives each job a filesystem on a loop device, and mounting one failed: mount: .*failed to setup loop device/);
    expect(prepared.stderr).toContain('or set limits.disk_mib = 0');
    expect((await fx.cli(['cleanup'], env)).exitCode).toBe(0);
    const workspaces = join(fx.workDir, 'workspaces');
    expect(existsSync(workspaces) ? readdirSync(workspaces).filter((n) => n.endsWith('-j610')) : []).toEqual([]);
    expect(mountsMentioning(fx.dir)).toEqual([]);
  });
});
