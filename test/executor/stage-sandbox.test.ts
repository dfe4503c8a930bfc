/**
 * The host stages' sandbox program (src/executor/stage-sandbox.c, as `npm run build` compiles it), run
 * directly: the view and the user it gives the stage, and that it fails closed: whatever step fails,
 * the stage's program never runs, and the exit status says so (124: a cgroup, 125: anything else).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { processesWith, waitFor } from '../support/processes.js';
import { reportSkip } from '../support/capabilities.js';

const SANDBOX = resolve(import.meta.dirname, '../../dist/executor/quarters-stage-sandbox');
const skip = reportSkip(process.getuid?.() !== 0 ? 'the sandbox program needs root (namespaces, mounts)' : !existsSync(SANDBOX) ? `${SANDBOX} is missing (npm run build)` : null, 'host stage sandbox program');

describe.skipIf(skip)('quarters-stage-sandbox', () => {
  let dir: string;
  let visible: string;
  let hidden: string;
  let aside: string;
  let marker: string;
  const user = ['user', '65534', '65534'];

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'quarters-sandbox-test-'));
    chmodSync(dir, 0o755);
    hidden = join(dir, 'hidden');
    visible = join(hidden, 'job');
    aside = join('/run', `quarters-sandbox-test-${process.pid}`);
    mkdirSync(visible, { recursive: true });
    chmodSync(hidden, 0o755);
    mkdirSync(aside, { mode: 0o700 });
    writeFileSync(join(hidden, 'secret'), 'secret\n');
    chmodSync(visible, 0o777);
    marker = join(visible, 'ran');
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
    rmSync(aside, { recursive: true, force: true });
  });

  /** The view of the tests: `hidden` covered, its `job` put back. */
  const view = (): string[] => ['bind', visible, aside, 'tmpfs', hidden, '0755', '1', 'bind-mkdir', aside, visible, 'detach', aside, 'cwd', visible];
  const run = (args: string[], script: string): SpawnSyncReturns<string> => {
    rmSync(marker, { force: true });
    const file = join(dir, 'script');
    writeFileSync(file, `touch ${marker}\n${script}\n`, { mode: 0o644 });
    return spawnSync('sh', ['-c', `exec "$@" 3<"${file}" 7</etc/hostname`, 'sh', SANDBOX, ...args, '--', 'bash', '/proc/self/fd/3'], { encoding: 'utf8', env: { PATH: '/usr/bin:/bin' } });
  };

  it('runs the stage as the user, without groups, capabilities or new privileges, as PID 1, in the view, with only its script\'s descriptor', () => {
    const result = run([...view(), ...user, 'fd', '3'], [
      'echo "id $(id -u):$(id -g) groups [$(id -G)] pid $$ cwd $(pwd)"',
      'grep -E "^(CapEff|CapPrm|NoNewPrivs|Groups):" /proc/self/status | tr -s "\\t" " "',
      `echo "hidden [$(ls -A ${hidden})] aside mounted: $(grep -c " ${aside} " /proc/self/mountinfo)"`,
      'test -e /proc/$$/fd/7 && echo "fd 7 open" || echo "fd 7 closed"',
      // bash, ps and wc: no process of the host.
      'ps -e -o pid= | wc -l',
    ].join('\n'));
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout.split('\n')).toEqual([
      `id 65534:65534 groups [65534] pid 1 cwd ${visible}`,
      'Groups: ',
      'CapPrm: 0000000000000000',
      'CapEff: 0000000000000000',
      'NoNewPrivs: 1',
      'hidden [job] aside mounted: 0',
      'fd 7 closed',
      '3',
      '',
    ]);
    expect(existsSync(marker)).toBe(true);
  });

  it('passes the stage\'s exit status on', () => {
    expect(run([...view(), ...user, 'fd', '3'], 'exit 7').status).toBe(7);
  });

  const failsClosed = (args: string[], status: number, message: string | RegExp): void => {
    const result = run(args, 'echo the stage ran');
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(message);
    expect(result.status).toBe(status);
    expect(existsSync(marker)).toBe(false);
  };

  it('fails closed when it cannot join a cgroup (124)', () => {
    failsClosed(['cgroup', join(dir, 'no-such-cgroup', 'cgroup.procs'), ...view(), ...user, 'fd', '3'], 124, `quarters-stage-sandbox: joining cgroup ${join(dir, 'no-such-cgroup', 'cgroup.procs')}: No such file or directory\n`);
  });

  it('fails closed when a mount fails (125)', () => {
    failsClosed(['bind', join(dir, 'missing'), aside, ...user, 'cwd', '/', 'fd', '3'], 125, `quarters-stage-sandbox: binding ${join(dir, 'missing')} to ${aside}: No such file or directory\n`);
    failsClosed(['detach', dir, ...user, 'cwd', '/', 'fd', '3'], 125, `quarters-stage-sandbox: unmounting ${dir}: Invalid argument\n`);
    failsClosed(['bind', '/etc/hostname', join(dir, 'no-such-dir', 'file'), ...user, 'cwd', '/', 'fd', '3'], 125, /^quarters-stage-sandbox: binding \/etc\/hostname to .*: No such file or directory\n$/);
  });

  it('fails closed when it cannot change to the working directory (125)', () => {
    failsClosed([...user, 'cwd', join(dir, 'missing'), 'fd', '3'], 125, `quarters-stage-sandbox: changing to ${join(dir, 'missing')}: No such file or directory\n`);
  });

  it('refuses to run the stage as root, or without a user, and refuses words it does not know (125)', () => {
    failsClosed(['user', '0', '0', 'cwd', '/', 'fd', '3'], 125, 'quarters-stage-sandbox: no user, or root: the stage runs unprivileged\n');
    failsClosed(['cwd', '/', 'fd', '3'], 125, 'quarters-stage-sandbox: no user, or root: the stage runs unprivileged\n');
    failsClosed([...user, 'cwd', '/', 'fd', '3', 'mount', '/'], 125, 'quarters-stage-sandbox: unknown word "mount"\n');
    failsClosed([...user, 'cwd', '/', 'fd', '3', 'tmpfs', '/tmp', '1777'], 125, 'quarters-stage-sandbox: tmpfs wants 3 arguments\n');
    failsClosed([...user, 'cwd', '/', 'fd', '3', 'tmpfs', '/tmp', '9999', '1'], 125, 'quarters-stage-sandbox: tmpfs mode "9999" is not a number up to 4095\n');
    failsClosed([...user, 'cwd', '/', 'fd', '3', 'tmpfs', '/tmp', '1777', '-1'], 125, 'quarters-stage-sandbox: tmpfs size in MiB "-1" is not a number up to 1073741824\n');
  });

  it('ends every process of the stage when it is killed (the executor stopping the stage)', async () => {
    const tag = `quarters-sandbox-sleeper-${process.pid}`;
    const script = join(dir, 'sleeper');
    writeFileSync(script, `setsid sh -c 'sleep 300; : ${tag}' </dev/null >/dev/null 2>&1 &\nsleep 300\n`, { mode: 0o644 });
    const child = spawn('sh', ['-c', `exec "$@" 3<"${script}"`, 'sh', SANDBOX, 'tmpfs', '/tmp', '1777', '1', ...user, 'cwd', '/', 'fd', '3', '--', 'bash', '/proc/self/fd/3'], { stdio: 'ignore' });
    expect(await waitFor(() => processesWith(tag).length > 0, 10_000)).toBe(true);
    child.kill('SIGKILL');
    expect(await waitFor(() => processesWith(tag).length === 0, 10_000)).toBe(true);
  });

  it('leaves the host\'s mounts as they were', () => {
    const before = readFileSync('/proc/self/mountinfo', 'utf8');
    expect(run([...view(), ...user, 'fd', '3'], 'true').status).toBe(0);
    expect(readFileSync('/proc/self/mountinfo', 'utf8')).toBe(before);
  });
});
