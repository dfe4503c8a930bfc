/* global console, process, URL */
// A no-op package's whole job against plain makepkg of it on the host (issue 10): what a mass rebuild
// pays per package on top of the build itself.
//  (a) host: `makepkg` of a PKGBUILD whose build() and package() do nothing, as an unprivileged user
//      (nobody, through runuser, as test/support/makepkg.ts runs it);
//  (b) job: the CI template's job (infrastructure/ci/quarters-build.gitlab-ci.yml) through the runner
//      emulator and the executor bundle on the nspawn backend and the Arch-on-Debian base, configured
//      as infrastructure/runner/executor.toml (the executor fetches with network, the build stage runs
//      offline, user namespace, disk limit), uploading to a stand-in of the server: config, prepare,
//      every stage, cleanup.
// Rounds alternate (a), (b) with the real driver and (b) with a traced copy of the driver (xtrace with
// timestamps, to its own descriptor), whose figures give the breakdown: each executor command, each
// container start, each phase of the driver, makepkg's own steps (by when its messages arrive).
// With BASELINE (another copy of vm/quarters-build, e.g. `git show main:vm/quarters-build > /tmp/driver`),
// each round also runs the job with that driver: an A/B of the driver under the same load.
// Needs root. Usage: npm run bench:noop-job [-- ROUNDS [BASELINE]]
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { loadJobRig } from './support/job-rig.js';

const rounds = Number(process.argv[2] ?? 3);
const baseline = process.argv[3] ?? null;
const root = fileURLToPath(new URL('..', import.meta.url));
const TEMPLATE = join(root, 'infrastructure', 'ci', 'quarters-build.gitlab-ci.yml');
const DRIVER = join(root, 'vm', 'quarters-build');
const PKGBUILD = ['pkgname=quarters-noop', 'pkgver=1.0', 'pkgrel=1', "pkgdesc='a package that does nothing'", "arch=('any')", 'build() {', '  :', '}', 'package() {', '  :', '}', ''].join('\n');
const TRACE_MARK = '@qt';

if (process.getuid() !== 0) {
  console.error('bench:noop-job needs root (overlayfs, systemd-nspawn, runuser)');
  process.exit(1);
}

const load = () => loadavg().map((n) => n.toFixed(2)).join(' ');
const now = () => Date.now() / 1000;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const best = (xs) => Math.min(...xs);
const s = (x) => (x === undefined || Number.isNaN(x) ? '-' : x.toFixed(2));

/** Lines of a stream, each with when it arrived. */
function lineClock(onLine) {
  let rest = '';
  return (text) => {
    const t = now();
    rest += text;
    const lines = rest.split('\n');
    rest = lines.pop();
    for (const line of lines) onLine(t, line);
  };
}

/** makepkg's progress messages ("==> Making package", "  -> Compressing package..."), as phase names. */
function makepkgPhase(line) {
  // eslint-disable-next-line no-control-regex -- makepkg colours its messages on a terminal
  const m = /^(?:==>| {2}->) ([A-Z][^.:(]*)/.exec(line.replace(/\x1b\[[0-9;]*m/g, ''));
  return m ? m[1].trim().replace(/ "[^"]*"$/, '') : null;
}

/** Durations between makepkg's messages, keyed by the message that starts each. */
function makepkgBreakdown(events) {
  const out = [];
  for (let i = 0; i < events.length - 1; i++) out.push([events[i].phase, events[i + 1].t - events[i].t]);
  return out;
}

// (a) ----------------------------------------------------------------------------------------------
const dir = mkdtempSync(join(tmpdir(), 'quarters-bench-noop-'));
chmodSync(dir, 0o755);

function hostMakepkg() {
  const work = join(dir, `host-${Date.now()}`);
  mkdirSync(work);
  writeFileSync(join(work, 'PKGBUILD'), PKGBUILD);
  execFileSync('chown', ['-R', 'nobody:nogroup', work]);
  return new Promise((resolve, reject) => {
    const start = now();
    const events = [];
    const child = spawn('runuser', ['-u', 'nobody', '--', 'env', `HOME=${work}`, 'makepkg'], { cwd: work, stdio: ['ignore', 'pipe', 'pipe'] });
    const clock = lineClock((t, line) => {
      const phase = makepkgPhase(line);
      if (phase) events.push({ t, phase });
    });
    child.stdout.on('data', (c) => clock(c.toString()));
    child.stderr.on('data', (c) => clock(c.toString()));
    child.on('close', (code) => {
      const end = now();
      rmSync(work, { recursive: true, force: true });
      if (code !== 0) return reject(new Error(`host makepkg failed with ${code}`));
      events.push({ t: end, phase: '(exit)' });
      resolve({ wall: end - start, startToFirst: events[0].t - start, makepkg: makepkgBreakdown(events) });
    });
  });
}

// (b) ----------------------------------------------------------------------------------------------
const rig = await loadJobRig();
const server = await rig.startArtifactServer();
// QUARTERS_BENCH_BACKEND=qemu runs the job in VMs instead (a boot per guest stage).
const backend = process.env.QUARTERS_BENCH_BACKEND ?? 'nspawn';
const fx = await rig.createExecutorFixture('', { loadBase: false, backend });
writeFileSync(join(fx.dir, 'executor.token'), 'executor-token\n');

// A traced copy of the driver: xtrace to a descriptor of its own (the original stderr, so neither its
// logs nor its redirections see it), each line stamped with the time and the call stack.
const tracedDriver = join(fx.dir, 'quarters-build-traced');
const driverText = readFileSync(DRIVER, 'utf8').split('\n');
driverText.splice(1, 0, `exec {quarters_trace_fd}>&2; BASH_XTRACEFD=$quarters_trace_fd; PS4='+${TRACE_MARK} \${EPOCHREALTIME} \${FUNCNAME[*]:-top} @ '; set -x; : quarters-trace-start`);
writeFileSync(tracedDriver, driverText.join('\n'), { mode: 0o755 });

const config = (driver) => [
  `build_driver = "${driver}"`,
  '[server]', `url = "${server.url}"`, 'token_file = "executor.token"', 'upload_attempts = 1',
  '[network]', 'fetch_command = ["quarters-build", "fetch"]',
  '[instance]', 'refresh_minutes = 100000',
].join('\n');
await fx.writeConfig(config(DRIVER));
const loaded = await fx.cli(['baseos', 'load', '--tarball', await rig.archBaseTarball()]);
if (loaded.exitCode !== 0) throw new Error(`baseos load failed: ${loaded.stderr}`);

const repository = join(fx.dir, 'quarters-noop.git');
mkdirSync(repository);
writeFileSync(join(repository, 'PKGBUILD'), PKGBUILD);
const git = (args) => execFileSync('git', ['-c', 'user.name=Jane Doe', '-c', 'user.email=jane.doe@example.org', ...args], { cwd: repository });
git(['init', '--quiet', '--initial-branch=main']);
git(['add', '-A']);
git(['commit', '--quiet', '-m', 'quarters-noop 1.0-1']);
execFileSync('chown', ['-R', rig.TEST_HOST_USER, repository]);
const template = parse(readFileSync(TEMPLATE, 'utf8'))['quarters-build'];

let jobId = 1000;
/** One job; with `traced`, the traced driver and the events of the breakdown; `driver` instead of vm/quarters-build. */
async function job(traced, driver = DRIVER) {
  await fx.writeConfig(config(traced ? tracedDriver : driver));
  const id = ++jobId;
  const commands = [];
  const lines = [];
  const clock = lineClock((t, line) => lines.push({ t, line }));
  server.received.length = 0;
  const start = now();
  const result = await rig.runJob({
    id, projectId: 12, projectPath: 'packages/quarters-noop', repository,
    variables: { QUARTERS_SERVER_URL: server.url, QUARTERS_BUILD_ID: String(id), QUARTERS_PACKAGER: 'Jane Doe <jane.doe@example.org>' },
    steps: [{ name: 'script', script: template.script }],
    artifactPaths: template.artifacts.paths,
  }, { executor: rig.EXECUTOR, env: fx.env, onTrace: clock, onCommand: (verb, stage) => commands.push({ t: now(), name: stage ? `run ${stage}` : verb }) });
  const end = now();
  if (result.outcome !== 'success') throw new Error(`the job failed (${result.outcome}):\n${result.trace}`);
  if (!server.received.some((u) => u.url.endsWith('/artifacts/quarters-noop-1.0-1-any.pkg.tar.zst'))) throw new Error('the job uploaded no package');
  rmSync(result.artifactsDir, { recursive: true, force: true });
  commands.push({ t: end, name: '(end)' });
  const stages = commands.slice(0, -1).map((c, i) => [c.name, commands[i + 1].t - c.t]);
  const step = commands.find((c) => c.name === 'run step_script');
  const stepEnd = commands[commands.indexOf(step) + 1];
  return { wall: end - start, build: stepEnd.t - step.t, stages, breakdown: traced ? breakdown(lines, step.t, stepEnd.t) : null };
}

/** A driver phase from its call stack (innermost first) and the traced command. */
function driverPhase(stack, command, verb) {
  const has = (f) => stack.includes(f);
  if (has('build_dependencies')) return 'dependencies: from the recipe';
  if (has('classify_build_dependencies') || has('install_build_dependencies')) return 'dependencies: pacman -T / -S';
  if (has('run_makepkg')) return verb === 'fetch' ? 'makepkg --verifysource' : 'makepkg (build)';
  if (has('in_private_network') || has('cut_build_network')) return 'offline network for the build';
  for (const f of ['read_recipe', 'fetched_here', 'record_fetched', 'ensure_build_user', 'prepare_pacman', 'configure_quarters_repo', 'sync_databases', 'prepare_work_copy', 'import_source_keys', 'collect_outputs', 'copy_bundle']) if (has(f)) return f;
  if (has('logged') && /chown/.test(command)) return 'logged: chown -R of the logs';
  if (stack[0] === 'top' || has('main')) return 'driver start (bash, checks)';
  return stack[0];
}

/** The build stage, from the executor's `run` to its exit: container starts, driver phases, makepkg's steps. */
function breakdown(lines, stageStart, stageEnd) {
  // Driver runs: each begins with its first trace line; the verb is read from main's case.
  const runs = [];
  const makepkg = [];
  let fetchAnnounced = null;
  let current = null;
  for (const { t, line } of lines) {
    const traced = new RegExp(`^\\++${TRACE_MARK} (\\d+\\.\\d+) (.*?) @ (.*)$`).exec(line);
    if (traced) {
      const [, stamp, stackText, command] = traced;
      const stack = stackText.split(' ');
      if (command === ': quarters-trace-start') {
        current = { verb: null, events: [] };
        runs.push(current);
      }
      if (!current) continue;
      if (stack[0] === 'main' && /^local verb=/.test(command)) current.verb = command.replace(/^local verb=/, '');
      current.events.push({ t: Number(stamp), stack, command });
      continue;
    }
    const phase = makepkgPhase(line);
    if (phase && current) makepkg.push({ t, phase, run: runs.length - 1 });
    if (/^quarters: fetching sources with network/.test(line)) fetchAnnounced = t;
  }
  const rows = [];
  let previousEnd = stageStart;
  runs.forEach((run, i) => {
    const first = run.events[0].t;
    const last = run.events[run.events.length - 1].t;
    const where = i === 0 ? 'fetch container (network)' : 'build_script container';
    if (i === 0 && fetchAnnounced !== null) {
      rows.push(['executor run start .. "fetching sources" (node, state, project bind)', fetchAnnounced - stageStart]);
      rows.push(['"fetching sources" .. driver start (container start, slirp4netns, nftables)', first - fetchAnnounced]);
    } else rows.push([i === 0 ? 'executor run start .. driver start' : i === 1 ? 'driver exit .. next driver start (container exit, build_script container start, runner script)' : 'driver exit .. next driver start (same container)', first - previousEnd]);
    const phases = new Map();
    for (let j = 0; j < run.events.length - 1; j++) {
      const e = run.events[j];
      const name = driverPhase(e.stack, e.command, run.verb);
      phases.set(name, (phases.get(name) ?? 0) + (run.events[j + 1].t - e.t));
    }
    rows.push([`  quarters-build ${run.verb} in the ${where}: ${s(last - first)} s`, null]);
    for (const [name, secs] of [...phases].sort((a, b) => b[1] - a[1])) if (secs >= 0.005) rows.push([`    ${name}`, secs]);
    const own = makepkg.filter((m) => m.run === i);
    if (own.length) {
      const steps = makepkgBreakdown(own);
      rows.push(['    makepkg messages (time from each to the next):', null]);
      for (const [name, secs] of steps) rows.push([`      ${name}`, secs]);
    }
    previousEnd = last;
  });
  rows.push(['last driver exit .. stage exit (container exit, usage report, upload)', stageEnd - previousEnd]);
  return rows;
}

const samples = { host: [], job: [], build: [], baseline: [], baselineBuild: [] };
const stageSamples = new Map();
let hostMakepkgSteps = null;
let lastBreakdown = null;
try {
  console.log(`noop-job bench: ${backend} backend, ${rounds} rounds, ${new Date().toISOString()}, load average ${load()} (${execFileSync('nproc').toString().trim()} cores)`);
  // Warm-up: the instance layer (made once per refresh_minutes), the page cache; not counted.
  await job(false);
  if (baseline) await job(false, baseline);
  await hostMakepkg();
  for (let i = 0; i < rounds; i++) {
    const host = await hostMakepkg();
    samples.host.push(host.wall);
    hostMakepkgSteps = host.makepkg;
    const plain = await job(false);
    samples.job.push(plain.wall);
    samples.build.push(plain.build);
    for (const [name, secs] of plain.stages) stageSamples.set(name, [...(stageSamples.get(name) ?? []), secs]);
    const traced = await job(true);
    lastBreakdown = traced;
    const other = baseline ? await job(false, baseline) : null;
    if (other) {
      samples.baseline.push(other.wall);
      samples.baselineBuild.push(other.build);
    }
    console.log(`round ${i + 1}: host makepkg ${s(host.wall)} s, job ${s(plain.wall)} s (build_script ${s(plain.build)} s), traced job ${s(traced.wall)} s${other ? `, job with the baseline driver ${s(other.wall)} s (build_script ${s(other.build)} s)` : ''}; load average ${load()}`);
  }
  const hostMedian = median(samples.host);
  console.log('');
  console.log(`best / median of ${rounds} (s):`);
  console.log(`  host makepkg           ${s(best(samples.host))} / ${s(hostMedian)}`);
  console.log(`  whole job              ${s(best(samples.job))} / ${s(median(samples.job))}   (job - host makepkg, medians: ${s(median(samples.job) - hostMedian)} s)`);
  console.log(`  build_script stage     ${s(best(samples.build))} / ${s(median(samples.build))}`);
  if (baseline) {
    console.log(`  baseline driver's job  ${s(best(samples.baseline))} / ${s(median(samples.baseline))}   (job - host makepkg, medians: ${s(median(samples.baseline) - hostMedian)} s; ${baseline})`);
    console.log(`  its build_script stage ${s(best(samples.baselineBuild))} / ${s(median(samples.baselineBuild))}`);
  }
  console.log('');
  console.log('the job\'s executor commands (median s, from each command\'s start to the next\'s):');
  for (const [name, xs] of stageSamples) console.log(`  ${name.padEnd(34)} ${s(median(xs))}`);
  console.log('');
  console.log('host makepkg, from each message to the next (last round, s):');
  for (const [name, secs] of hostMakepkgSteps) console.log(`  ${name.padEnd(40)} ${s(secs)}`);
  console.log('');
  console.log(`the build_script stage of the last traced job (${s(lastBreakdown.build)} s; the trace itself adds a little), s:`);
  for (const [name, secs] of lastBreakdown.breakdown) console.log(secs === null ? `  ${name}` : `  ${name.padEnd(70)} ${s(secs)}`);
  console.log('');
  console.log(`load average at the end: ${load()}`);
} finally {
  await server.close();
  await fx.remove();
  rmSync(dir, { recursive: true, force: true });
}
