/**
 * Jobs interrupted at random moments: a cancel (SIGTERM to the command's process group, SIGKILL after
 * the graceful timeout, at times so short that it lands mid-teardown) or a kill -9 of the executor's process group followed by `cleanup --stale`,
 * at a seeded random delay spread over prepare, get_sources, the build stage and the upload stages.
 * After each, nothing of the job may be left: mounts in any namespace, processes, loop devices,
 * workspace, build directory, cgroups. CHAOS_ROUNDS (cancellations; a third as many kill -9s) and
 * CHAOS_SEED make the soak run.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readdirSync, utimesSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa, execaSync } from 'execa';
import { runJob, stageScript } from '../runner-emulator/emulator.js';
import { createExecutorFixture, EXECUTOR, type ExecutorFixture } from '../support/executor-fixture.js';
import { containerSkipReason, loopSkipReason, reportSkip } from '../support/capabilities.js';
import { midBuildEnv, midBuildName } from '../support/mid-build.js';
import { mountsAnywhereMentioning, processesWith, waitFor } from '../support/processes.js';
import { seededRandom } from '../support/seeded-random.js';

const skip = reportSkip(containerSkipReason(), 'executor cancellation chaos');
const CANCELS = Number(process.env.CHAOS_ROUNDS ?? 12);
const KILLS = Number(process.env.CHAOS_KILL_ROUNDS ?? Math.max(1, Math.round(CANCELS / 3)));
const SEED = Number(process.env.CHAOS_SEED ?? 20261203);
/** Project id and job ids of their own: other suites on the same host use the emulator's default names. */
const PROJECT = 7301;
const FIRST_JOB = 730_100;

/** Cgroup directories (any v1 hierarchy or the unified one) whose name mentions `name`. */
function cgroupsMentioning(name: string): string[] {
  const { stdout } = execaSync('find', ['/sys/fs/cgroup', '-maxdepth', '8', '-type', 'd', '-name', `*${name}*`], { reject: false });
  return stdout.split('\n').filter(Boolean);
}

/** Loop devices whose backing file lies in `dir` (deleted files included). */
function loopDevicesIn(dir: string): string[] {
  const { stdout } = execaSync('losetup', ['--list', '--noheadings', '--output', 'NAME,BACK-FILE'], { reject: false });
  return stdout.split('\n').filter((line) => line.includes(dir));
}

describe.skipIf(skip)('quarters-executor interrupted at random moments', () => {
  let fx: ExecutorFixture;
  let repository: string;
  const random = seededRandom(SEED);
  const disk = loopSkipReason() === null;

  beforeAll(async () => {
    // Every job gets a disk (a loop device) and host-stage and container cgroups (pids), so each kind of leftover can show.
    fx = await createExecutorFixture(disk ? '[limits]\ndisk_mib = 64\npids = 500' : '[limits]\npids = 500');
    repository = join(fx.dir, 'repo');
    await mkdir(repository);
    await execa('sh', ['-c', 'git init -q && echo hello > README && git add README && git -c user.email=t@e -c user.name=t commit -qm init && chown -R 65534:65534 .'], { cwd: repository });
  }, 120_000);
  afterAll(async () => {
    await fx?.cli(['cleanup', '--stale', '--older-than', '0']);
    await fx?.remove();
  });

  const entries = (sub: string): string[] => (existsSync(join(fx.workDir, sub)) ? readdirSync(join(fx.workDir, sub)) : []);
  const nameOf = (jobId: number): string => midBuildName({ jobId, projectId: PROJECT, concurrentId: 0, marker: '' });
  const markerOf = (jobId: number): string => `quarters-chaos-marker-${process.pid}-${jobId}`;
  const build = (jobId: number): string[] => ['echo built > out.txt', `sh -c 'sleep 1; : ${markerOf(jobId)}'`, 'cat README out.txt'];

  /** Everything of the job still on the host, by kind; empty when it is gone without a trace. */
  const leftovers = async (jobId: number): Promise<Record<string, string[]>> => {
    const name = nameOf(jobId);
    // The last processes of a killed container take a moment to be reaped.
    await waitFor(() => processesWith(markerOf(jobId)).length === 0 && processesWith(name).length === 0, 10_000);
    const found: Record<string, string[]> = {
      // A kill -9 mid guest stage leaves its bind of the project directory (project-bind.ts): named on its own.
      projectBinds: mountsAnywhereMentioning(join(fx.workDir, 'workspaces', name, 'project')),
      mounts: mountsAnywhereMentioning(fx.dir),
      processes: [...processesWith(markerOf(jobId)), ...processesWith(name)].map(String),
      loopDevices: loopDevicesIn(fx.dir),
      workspaces: entries('workspaces'),
      builds: entries('builds'),
      cgroups: cgroupsMentioning(`j${jobId}`),
    };
    return Object.fromEntries(Object.entries(found).filter(([, list]) => list.length > 0));
  };

  /** Runs the job to the end through the emulator, cancelling it after `cancelAfterMs` (null: never); returns the stage it hit and how long the job took. */
  const emulated = async (jobId: number, cancelAfterMs: number | null, gracefulKillTimeoutMs = 3000): Promise<{ stage: string; ms: number; outcome: string; trace: string }> => {
    const cancel = new AbortController();
    let stage = 'done';
    let current = 'config';
    const started = Date.now();
    const timer = cancelAfterMs === null ? undefined : setTimeout(() => {
      stage = current;
      cancel.abort();
    }, cancelAfterMs);
    const result = await runJob(
      { id: jobId, projectId: PROJECT, repository, steps: [{ name: 'script', script: build(jobId) }], cachePaths: ['out.txt'], artifactPaths: ['out.txt'] },
      { executor: EXECUTOR, env: fx.env, cancel: cancel.signal, gracefulKillTimeoutMs, onCommand: (verb, s) => (current = s ?? verb) },
    );
    clearTimeout(timer);
    return { stage, ms: Date.now() - started, outcome: result.outcome, trace: result.trace };
  };

  /** Runs the job's commands under a stand-in runner (sh, its own process group) and kills that group with SIGKILL after `killAfterMs`. */
  const killed = async (jobId: number, killAfterMs: number | null): Promise<{ stage: string; ms: number }> => {
    const job = { jobId, projectId: PROJECT, concurrentId: 0, marker: markerOf(jobId) };
    const projectDir = join(fx.workDir, 'builds', nameOf(jobId), 'project');
    const scripts = join(fx.dir, `chaos-${jobId}`);
    await mkdir(scripts, { recursive: true });
    const stages: [string, string[]][] = [
      ['prepare_script', ['echo preparing']],
      ['get_sources', [`rm -rf "$CI_PROJECT_DIR"`, `git clone -q ${repository} "$CI_PROJECT_DIR"`]],
      ['step_script', ['cd "$CI_PROJECT_DIR"', ...build(jobId)]],
      ['upload_artifacts_on_success', ['cd "$CI_PROJECT_DIR"', 'cp out.txt "$CI_PROJECT_DIR.out"']],
    ];
    const steps = ['"$@" prepare'];
    for (const [stage, body] of stages) {
      const file = join(scripts, `${stage}.sh`);
      await writeFile(file, stageScript({ CI_PROJECT_DIR: projectDir }, body), { mode: 0o700 });
      steps.push(`echo ${stage} >&3 && "$@" run ${file} ${stage}`);
    }
    const started = Date.now();
    let stage = 'prepare';
    const runner = execa('sh', ['-c', `exec 3>&2; ${steps.join(' && ')}; echo cleanup >&3; "$@" cleanup; echo done >&3`, 'runner', ...EXECUTOR], { env: midBuildEnv(fx, job), reject: false, detached: true, stdin: 'ignore', stdout: 'ignore', stderr: 'pipe' });
    runner.stderr?.on('data', (chunk: Buffer) => {
      const last = chunk.toString().trim().split('\n').filter((line) => /^[a-z_]+$/.test(line)).at(-1);
      if (last) stage = last;
    });
    let timer: NodeJS.Timeout | undefined;
    const finished = await Promise.race([runner.then(() => true), new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), killAfterMs ?? 600_000)))]);
    clearTimeout(timer);
    const ms = Date.now() - started;
    const hit = finished ? 'done' : stage;
    if (!finished) {
      try {
        process.kill(-runner.pid!, 'SIGKILL');
      } catch {
        // the stand-in runner finished meanwhile
      }
      await runner;
    }
    // The sweep (cleanup --stale on a timer): a prepare killed before it wrote the workspace's state is reclaimed once it is a minute old.
    const sweep = await fx.cli(['cleanup', '--stale']);
    expect(sweep.exitCode, sweep.stderr).toBe(0);
    const name = nameOf(jobId);
    if (entries('workspaces').includes(name)) {
      const old = new Date(Date.now() - 120_000);
      utimesSync(join(fx.workDir, 'workspaces', name), old, old);
      const later = await fx.cli(['cleanup', '--stale']);
      expect(later.exitCode, later.stderr).toBe(0);
    }
    return { stage: hit, ms };
  };

  it(`${CANCELS} cancels and ${KILLS} kill -9s at random moments (seed ${SEED}) leave nothing behind`, async () => {
    // One undisturbed run of each sets the span its interrupts are spread over.
    const baseline = await emulated(FIRST_JOB, null);
    expect(baseline.outcome, baseline.trace).toBe('success');
    expect(await leftovers(FIRST_JOB)).toEqual({});
    const standIn = await killed(FIRST_JOB + 1, null);
    expect(await leftovers(FIRST_JOB + 1)).toEqual({});
    const span = { cancel: baseline.ms, kill: standIn.ms };
    const hits: Record<string, number> = {};
    let jobId = FIRST_JOB + 1;
    const plan = [...Array<'cancel'>(CANCELS).fill('cancel'), ...Array<'kill'>(KILLS).fill('kill')].map((kind) => ({ kind, order: random() })).sort((a, b) => a.order - b.order);
    for (const { kind } of plan) {
      jobId++;
      const delay = Math.round(random() * span[kind] * 0.9);
      // Half the cancels get a short graceful timeout: the SIGKILL then lands while the executor is still stopping the job.
      const graceful = random() < 0.5 ? 3000 : Math.round(random() * 500);
      const { stage } = kind === 'cancel' ? await emulated(jobId, delay, graceful) : await killed(jobId, delay);
      hits[`${kind}@${stage}`] = (hits[`${kind}@${stage}`] ?? 0) + 1;
      expect(await leftovers(jobId), `${kind} after ${delay} ms (in ${stage}${kind === 'cancel' ? `, SIGKILL ${graceful} ms later` : ''}), job ${jobId}, seed ${SEED}`).toEqual({});
    }
    console.log(`cancellation chaos (seed ${SEED}, baseline jobs ${span.cancel} ms emulated, ${span.kill} ms stand-in, disk ${disk ? 'on' : 'off'}): ${JSON.stringify(hits)}`);
  }, 30_000 + (CANCELS + KILLS + 2) * 30_000);
});
