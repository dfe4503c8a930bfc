/**
 * The executor on a host where systemd is PID 1: runs inside the systemd-host VM, compiled and
 * booted by ../systemd-host.test.ts, which reads the report this writes. Drives quarters-executor
 * the way GitLab Runner does (the runner emulator for a whole job; prepare and run by hand for
 * SIGTERM and kill -9 mid-build) and records one entry per title in CHECKS, rewriting the report
 * after each, so a VM that dies half-way still tells how far it got.
 *
 *   node test/executor/systemd-host/guest.js REPORT.json
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { runJob, type EmulatorResult } from '../../runner-emulator/emulator.js';
import { createExecutorFixture, EXECUTOR, type ExecutorFixture } from '../../support/executor-fixture.js';
import { crashMidBuild, midBuildEnv, midBuildName, writeMidBuildScript, type MidBuildJob } from '../../support/mid-build.js';
import { mountsAnywhereMentioning, processesWith, waitFor } from '../../support/processes.js';
import { CHECKS } from './checks.js';
import type { GuestReport } from './report.js';

// Without hardware virtualization the VM is emulated, and each executor command takes seconds: wait generously.
const PATIENCE_MS = 300_000;
// How long teardown may lag behind the command that caused it (machined drops a machine once its scope is empty).
const SETTLE_MS = 30_000;
const MEMORY_MIB = 256;
const CPUS = 1.5;

const reportFile = process.argv[2];
if (!reportFile) {
  console.error('usage: node guest.js REPORT.json');
  process.exit(2);
}
const report: GuestReport = { checks: [] };
console.log(`guest: started ${readFileSync('/proc/uptime', 'utf8').split(' ')[0]} s after the kernel`);

/** Runs one check, records it in the report and says so on the console. */
async function check(title: string, body: () => void | Promise<void>): Promise<void> {
  const started = Date.now();
  let error: string | null = null;
  try {
    await body();
  } catch (thrown) {
    error = thrown instanceof Error ? (thrown.stack ?? thrown.message) : String(thrown);
  }
  const seconds = (Date.now() - started) / 1000;
  report.checks.push({ title, passed: error === null, error, seconds });
  await writeFile(reportFile!, JSON.stringify(report, null, 2));
  console.log(`guest: ${error === null ? 'PASS' : 'FAIL'} ${title}${error === null ? '' : `\n${error}`}`);
}

/** What a scenario produced for its checks to look at, or why it could not run. */
type Outcome<T> = { value: T } | { error: unknown };

async function scenario<T>(what: string, run: () => Promise<T>): Promise<Outcome<T>> {
  const started = Date.now();
  try {
    const value = await run();
    console.log(`guest: ${what} took ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return { value };
  } catch (error) {
    console.log(`guest: ${what} failed after ${((Date.now() - started) / 1000).toFixed(1)} s: ${error instanceof Error ? error.message : String(error)}`);
    return { error };
  }
}

function need<T>(outcome: Outcome<T>, what: string): T {
  if ('error' in outcome) throw new Error(`${what} could not run: ${outcome.error instanceof Error ? (outcome.error.stack ?? outcome.error.message) : String(outcome.error)}`);
  return outcome.value;
}

async function isRegistered(machine: string): Promise<boolean> {
  return (await execa('machinectl', ['show', machine], { reject: false })).exitCode === 0;
}

function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    return '(gone meanwhile)';
  }
}

/**
 * What a job left behind: a registered machine, processes, mounts in any namespace, its directories.
 * With `directories` false the job is still prepared (between stages): its directories and its job
 * mount (the nosuid,nodev mount of its workspace and the bind of its build directory) belong there.
 */
async function leftovers(fx: ExecutorFixture, machine: string, marker: string, directories = true): Promise<string[]> {
  const left: string[] = [];
  if (await isRegistered(machine)) left.push(`machine ${machine} is registered: ${(await execa('machinectl', ['status', machine], { reject: false })).stdout}`);
  for (const pid of processesWith(marker)) left.push(`process ${pid} is running: ${commandLine(pid)}`);
  const jobMount = new Set([join(fx.workDir, 'workspaces', machine, 'mount'), join(fx.workDir, 'builds', machine)]);
  for (const mount of mountsAnywhereMentioning(fx.workDir)) {
    // "PID: ID PARENT MAJOR:MINOR ROOT MOUNT-POINT ...", as mountsAnywhereMentioning reports a mountinfo line.
    const point = mount.split(' ')[5];
    if (!directories && point !== undefined && jobMount.has(point)) continue;
    left.push(`mount left: ${mount}`);
  }
  if (directories) {
    for (const dir of ['workspaces', 'builds']) {
      if (existsSync(join(fx.workDir, dir, machine))) left.push(`${dir}/${machine} is still there`);
    }
  }
  return left;
}

/** Leftovers once teardown has had SETTLE_MS to finish. */
async function settledLeftovers(fx: ExecutorFixture, machine: string, marker: string, directories = true): Promise<string[]> {
  await waitFor(async () => (await leftovers(fx, machine, marker, directories)).length === 0, SETTLE_MS);
  return leftovers(fx, machine, marker, directories);
}

interface WhileRunning {
  machines: string;
  unit: string;
  properties: Record<string, string>;
  /** /proc/PID/cgroup of the step's processes. */
  stepCgroups: string[];
  artifact: string | null;
}

interface MainJob {
  name: string;
  result: EmulatorResult;
  whileRunning: Outcome<WhileRunning>;
  left: string[];
}

/**
 * A whole job through the runner emulator: a step that prints where it runs, writes a file and
 * waits until the machine has been looked at, then a step that fails.
 */
async function mainJob(fx: ExecutorFixture): Promise<MainJob> {
  const name = midBuildName({ jobId: 301, projectId: 7, concurrentId: 0, marker: '' });
  const projectDir = join(fx.workDir, 'builds', name, 'group', 'project-7');
  const marker = `quarters-systemd-host-step-${process.pid}`;
  const observing = scenario('looking at the running step', () => observe(name, projectDir, marker));
  const result = await runJob({
    id: 301,
    projectId: 7,
    steps: [
      { name: 'script', script: [
        'echo "inside: hostname=$(hostname) pid1=$(cat /proc/1/comm)"',
        'echo built > artifact.txt',
        `sh -c 'touch .step-running; while [ ! -e .step-go ]; do sleep 0.2; done; : ${marker}'`,
        'echo "step finished"',
      ] },
      { name: 'fail', script: ['echo "failing on purpose"', 'exit 3'] },
    ],
  }, { executor: EXECUTOR, env: fx.env, jobTimeoutMs: 2 * PATIENCE_MS });
  // Into the serial console log the host keeps, for reading when a check fails.
  console.log(`guest: the job's log:\n${result.trace}\nguest: its cleanup's log:\n${result.cleanupLog}`);
  assert.equal(result.projectDir, projectDir, 'the emulator put the project somewhere else than this test looks');
  return { name, result, whileRunning: await observing, left: await settledLeftovers(fx, name, marker) };
}

/** Looks at the machine while the step waits, then lets the step go on. */
async function observe(name: string, projectDir: string, marker: string): Promise<WhileRunning> {
  try {
    if (!(await waitFor(() => existsSync(join(projectDir, '.step-running')), PATIENCE_MS))) throw new Error(`the step did not start within ${PATIENCE_MS / 1000} s`);
    const machines = (await execa('machinectl', ['list', '--no-legend'], { reject: false })).stdout;
    const unit = (await execa('machinectl', ['show', name, '--property=Unit', '--value'], { reject: false })).stdout.trim();
    const shown = unit ? (await execa('systemctl', ['show', unit, '--property=MemoryMax,CPUQuotaPerSecUSec,ControlGroup'], { reject: false })).stdout : '';
    const properties = Object.fromEntries(shown.split('\n').filter((line) => line.includes('=')).map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]));
    const stepCgroups = processesWith(marker).map((pid) => readFileSync(`/proc/${pid}/cgroup`, 'utf8').trim());
    const artifact = await readFile(join(projectDir, 'artifact.txt'), 'utf8').catch(() => null);
    return { machines, unit, properties, stepCgroups, artifact };
  } finally {
    await writeFile(join(projectDir, '.step-go'), '').catch(() => undefined);
  }
}

interface Stopped {
  registeredWhileRunning: boolean;
  exitCode: number | undefined;
  signal: string | undefined;
  stderr: string;
  leftAfterStop: string[];
  cleanup: { exitCode: number; stderr: string };
  leftAfterCleanup: string[];
}

/** prepare, then run mid-build stopped with SIGTERM to its process group (the runner's cancel), then cleanup. */
async function sigtermMidBuild(fx: ExecutorFixture): Promise<Stopped> {
  const job: MidBuildJob = { jobId: 302, projectId: 8, concurrentId: 0, marker: `quarters-systemd-host-sigterm-${process.pid}` };
  const name = midBuildName(job);
  const env = midBuildEnv(fx, job);
  const prepared = await fx.cli(['prepare'], env);
  if (prepared.exitCode !== 0) throw new Error(`prepare exited with ${prepared.exitCode}: ${prepared.stderr}`);
  const script = await writeMidBuildScript(fx, job);
  const run = execa(EXECUTOR[0], [...EXECUTOR.slice(1), 'run', script, 'step_script'], { env, detached: true, reject: false, stdin: 'ignore', timeout: 2 * PATIENCE_MS });
  if (!(await waitFor(() => processesWith(job.marker).length > 0, PATIENCE_MS))) {
    run.kill('SIGKILL');
    throw new Error(`the build did not start within ${PATIENCE_MS / 1000} s: ${(await run).stderr}`);
  }
  const registeredWhileRunning = await isRegistered(name);
  process.kill(-run.pid!, 'SIGTERM');
  const stopped = await run;
  console.log(`guest: the stopped run's stderr:\n${String(stopped.stderr)}`);
  const leftAfterStop = await settledLeftovers(fx, name, job.marker, false);
  const cleanup = await fx.cli(['cleanup'], env);
  return { registeredWhileRunning, exitCode: stopped.exitCode, signal: stopped.signal, stderr: String(stopped.stderr), leftAfterStop, cleanup, leftAfterCleanup: await settledLeftovers(fx, name, job.marker) };
}

interface Killed {
  name: string;
  registeredAfterKill: boolean;
  runningAfterKill: boolean;
  stale: { exitCode: number; stdout: string; stderr: string };
  leftAfterStale: string[];
}

/** kill -9 of the executor and its runner mid-build, then `cleanup --stale`. */
async function killMidBuild(fx: ExecutorFixture): Promise<Killed> {
  const job: MidBuildJob = { jobId: 303, projectId: 9, concurrentId: 0, marker: `quarters-systemd-host-kill9-${process.pid}` };
  const name = await crashMidBuild(fx, job, PATIENCE_MS);
  // Give a container that dies with its nspawn the time to do so, so that what is seen below is what stays.
  await new Promise((resolve) => setTimeout(resolve, 3000));
  const registeredAfterKill = await isRegistered(name);
  const runningAfterKill = processesWith(job.marker).length > 0;
  const stale = await fx.cli(['cleanup', '--stale']);
  console.log(`guest: cleanup --stale said:\n${stale.stdout}${stale.stderr}`);
  return { name, registeredAfterKill, runningAfterKill, stale, leftAfterStale: await settledLeftovers(fx, name, job.marker) };
}

const MEMORY_MAX = String(MEMORY_MIB * 1024 * 1024);

await check(CHECKS.systemd, async () => {
  assert.equal(readFileSync('/proc/1/comm', 'utf8').trim(), 'systemd');
  assert.ok(existsSync('/run/systemd/system'), '/run/systemd/system is missing: the executor would take the path for hosts without systemd');
  const list = await execa('machinectl', ['list'], { reject: false });
  assert.equal(list.exitCode, 0, `machinectl list failed: ${list.stderr}`);
});

const fixture = await scenario('loading the busybox base OS', () => createExecutorFixture(`[limits]\nmemory_mib = ${MEMORY_MIB}\ncpus = ${CPUS}`));
const fx = 'value' in fixture ? fixture.value : null;
const noFixture = { error: new Error(`the executor fixture (work dir, busybox base) could not be set up: ${'error' in fixture ? String(fixture.error) : ''}`) };
const main = fx ? await scenario('the job through the runner emulator', () => mainJob(fx)) : noFixture;

await check(CHECKS.container, () => {
  const { name, result } = need(main, 'the job');
  // ^...$: the emulator echoes each command line before running it, and the echo holds the unexpanded $(hostname).
  const inside = /^inside: hostname=(\S*) pid1=(\S*)$/m.exec(result.trace);
  assert.ok(inside, `the step's first line is not in the job log:\n${result.trace}`);
  assert.equal(inside[1], name, 'the container\'s hostname is not the machine name');
  assert.notEqual(inside[1], hostname(), 'the step saw the VM\'s hostname');
  assert.notEqual(inside[2], 'systemd', 'the step saw the VM\'s PID 1');
});

await check(CHECKS.registered, () => {
  const { name, whileRunning } = need(main, 'the job');
  const seen = need(whileRunning, 'looking at the running step');
  assert.ok(seen.machines.split('\n').some((line) => line.split(/\s+/)[0] === name), `machinectl list did not show ${name}:\n${seen.machines}`);
  assert.match(seen.unit, /^machine-.+\.scope$/, `machinectl show ${name} gave no scope unit`);
});

await check(CHECKS.limits, () => {
  const seen = need(need(main, 'the job').whileRunning, 'looking at the running step');
  assert.equal(seen.properties.MemoryMax, MEMORY_MAX, `MemoryMax of ${seen.unit}`);
  assert.equal(seen.properties.CPUQuotaPerSecUSec, '1.500000s', `CPUQuotaPerSecUSec of ${seen.unit}`);
  const group = seen.properties.ControlGroup;
  assert.ok(group, `${seen.unit} has no ControlGroup`);
  assert.ok(seen.stepCgroups.length > 0, 'no process of the step was found while it ran');
  for (const cgroup of seen.stepCgroups) assert.ok(cgroup.startsWith(`0::${group}`), `a step process is in ${cgroup}, outside ${group}`);
});

await check(CHECKS.output, () => {
  const { result, whileRunning } = need(main, 'the job');
  assert.equal(need(whileRunning, 'looking at the running step').artifact, 'built\n', 'artifact.txt in the project directory while the step ran');
  assert.match(result.trace, /^step finished$/m, 'the step\'s last line is not in the job log');
});

await check(CHECKS.failure, () => {
  const { result } = need(main, 'the job');
  const failing = result.commands.find((command) => command.stage === 'step_fail');
  assert.equal(failing?.exitCode, 1, `run of step_fail: ${JSON.stringify(failing)}`);
  assert.equal(result.outcome, 'script_failure', result.trace);
  assert.match(result.trace, /failing on purpose/);
});

await check(CHECKS.cleanup, () => {
  const { result, left } = need(main, 'the job');
  assert.deepEqual(result.commands.at(-1), { verb: 'cleanup', stage: null, exitCode: 0, signal: null }, result.cleanupLog);
  assert.deepEqual(left, []);
});

const stopped = fx ? await scenario('SIGTERM mid-build', () => sigtermMidBuild(fx)) : noFixture;

await check(CHECKS.sigterm, () => {
  const s = need(stopped, 'SIGTERM mid-build');
  assert.ok(s.registeredWhileRunning, 'the machine was not registered before SIGTERM');
  assert.equal(s.signal, undefined, `run was killed by ${s.signal} instead of exiting: ${s.stderr}`);
  assert.equal(s.exitCode, 1, `run's exit code: ${s.stderr}`);
  assert.deepEqual(s.leftAfterStop, [], 'left running after run exited');
  assert.equal(s.cleanup.exitCode, 0, s.cleanup.stderr);
  assert.deepEqual(s.leftAfterCleanup, [], 'left after cleanup');
});

const killed = fx ? await scenario('kill -9 mid-build and cleanup --stale', () => killMidBuild(fx)) : noFixture;

await check(CHECKS.killed, () => {
  const k = need(killed, 'kill -9 mid-build');
  assert.ok(k.runningAfterKill, 'the build\'s processes died with the executor');
  assert.ok(k.registeredAfterKill, 'the machine was unregistered with the executor');
});

await check(CHECKS.stale, () => {
  const k = need(killed, 'kill -9 mid-build');
  assert.equal(k.stale.exitCode, 0, k.stale.stderr);
  assert.match(k.stale.stdout, new RegExp(`removed ${k.name}`), k.stale.stdout);
  assert.deepEqual(k.leftAfterStale, []);
});

await fx?.remove();
