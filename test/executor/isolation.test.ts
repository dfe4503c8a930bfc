/**
 * Attacks a job's own code can make, through the runner emulator and the real bundle: in host stages
 * (a git smudge filter the job's variables configure runs during get_sources, as the host user) and in
 * guest stages (a fork bomb, a /tmp filled with RAM).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { execa } from 'execa';
import { runJob, type EmulatedJob } from '../runner-emulator/emulator.js';
import { createExecutorFixture, EXECUTOR, type ExecutorFixture } from '../support/executor-fixture.js';
import { containerSkipReason, reportSkip } from '../support/capabilities.js';
import { processesWith, waitFor } from '../support/processes.js';

const skip = reportSkip(containerSkipReason(), 'host stage isolation and guest limits');

describe.skipIf(skip)('what a job\'s code can reach from host and guest stages', () => {
  let fx: ExecutorFixture;
  let repository: string;
  const hostSecret = `/tmp/quarters-host-secret-${process.pid}`;

  beforeAll(async () => {
    fx = await createExecutorFixture('[limits]\npids = 200\ntmpfs_mib = 64');
    // Every checked-out file goes through the "q" filter, which the job's variables define.
    repository = join(fx.dir, 'filtered.git');
    await execa('sh', ['-c', `git init -q -b main "${repository}" && cd "${repository}" && echo '* filter=q' > .gitattributes && echo hello > a.txt && git add . && git -c user.name=t -c user.email=t@e commit -qm init && chown -R 65534:65534 "${repository}"`]);
    await writeFile(hostSecret, 'host-tmp-secret\n', { mode: 0o644 });
  });
  afterAll(async () => {
    await rm(hostSecret, { force: true });
    await fx?.remove();
  });

  /** A job whose get_sources runs `command` (in the clone, as the host user) through a smudge filter. */
  const filtered = (id: number, command: string, steps: string[], extra: Partial<EmulatedJob> = {}): EmulatedJob => ({
    id, projectId: 71, repository, steps: [{ name: 'script', script: steps }],
    variables: { GIT_CONFIG_COUNT: '1', GIT_CONFIG_KEY_0: 'filter.q.smudge', GIT_CONFIG_VALUE_0: `${command}; cat` },
    ...extra,
  });

  it('ends every process a host stage starts with the stage, and gives it a /tmp of its own', async () => {
    const marker = `quarters-host-leftover-${process.pid}`;
    const attack = `test -e .ran || { setsid sh -c 'sleep 300; : ${marker}' </dev/null >/dev/null 2>&1 & ls -A /tmp > .tmp-listing; cat ${hostSecret} > .host-secret 2>&1; touch .ran; }`;
    const result = await runJob(filtered(801, attack, ['test -e .ran && echo "filter ran"', 'echo "host /tmp: [$(cat .tmp-listing)] secret: $(cat .host-secret)"']), { executor: EXECUTOR, env: fx.env });
    expect(result.outcome, result.trace).toBe('success');
    expect(result.trace).toContain('filter ran');
    // Only what host_stages.paths shows (the fixture: the repositories the emulator clones) is in its /tmp.
    // (and the emulator's artifact storage, when a job of another suite made it).
    const seen = /^host \/tmp: \[([^\]]*)\] secret: (.*)$/m.exec(result.trace);
    expect(seen?.[1]?.split('\n').filter((name) => name !== 'custom-executor-artifacts')).toEqual([basename(fx.dir)]);
    expect(seen?.[2]).toBe(`cat: ${hostSecret}: No such file or directory`);
    expect(result.trace).not.toContain('host-tmp-secret');
    expect(processesWith(marker)).toEqual([]);
  });

  it('keeps another running job\'s build directory, scripts and state out of a host stage\'s reach', { timeout: 120_000 }, async () => {
    const a = 'q-emulatr1-p71-c0-j802';
    const secretFile = join(fx.workDir, 'builds', a, 'group', 'project-71', 'secret-file');
    // In the victim's build directory: the one host path its guest sees.
    const release = join(fx.workDir, 'builds', a, 'group', 'project-71', 'release');
    const victim = runJob({ id: 802, projectId: 71, concurrentId: 0, steps: [{ name: 'script', script: [
      'echo "topsecret""-of-802" > secret-file',
      'while [ ! -e release ]; do sleep 0.2; done',
    ] }], variables: { VICTIM_TOKEN_NOTE: 'victim-variable-802' } }, { executor: EXECUTOR, env: fx.env });
    try {
      expect(await waitFor(() => existsSync(secretFile), 60_000)).toBe(true);
      const attack = [
        'test -e .ran && exit 0; touch .ran',
        `{ cat ${secretFile}; echo "builds: $(ls -A ${join(fx.workDir, 'builds')})"; echo "workspaces: $(ls -A ${join(fx.workDir, 'workspaces')})"; cat ${join(fx.workDir, 'workspaces', a, 'state.json')}; cat ${join(fx.workDir, 'workspaces', a, 'scripts')}/*; } > .loot 2>&1`,
      ].join('; ');
      const thief = await runJob(filtered(803, attack, ['cat .loot'], { concurrentId: 1 }), { executor: EXECUTOR, env: fx.env });
      expect(thief.outcome, thief.trace).toBe('success');
      expect(thief.trace).toContain(`cat: ${secretFile}: No such file or directory`);
      expect(thief.trace).toMatch(/state\.json: No such file or directory\n.*scripts\/\*': No such file or directory/);
      // Its own build directory and workspace (HOME) are all it sees of builds_dir and work_dir.
      expect(thief.trace).toContain('builds: q-emulatr1-p71-c1-j803\n');
      expect(thief.trace).toContain('workspaces: q-emulatr1-p71-c1-j803\n');
      expect(thief.trace).not.toContain('topsecret-of-802');
      expect(thief.trace).not.toContain('victim-variable-802');
    } finally {
      await writeFile(release, '');
      expect((await victim).outcome).toBe('success');
    }
  });

  it('keeps one project\'s caches out of another project\'s host stages: B neither sees nor changes what A cached or planted', { timeout: 180_000 }, async () => {
    const cache = join(fx.workDir, 'cache');
    const runnerPath = (project: number): string => join(cache, 'group', `project-${project}`);
    // Project 74 caches a file (archive_cache) and its get_sources plants one beside its caches.
    const plant = `test -e .ran && exit 0; touch .ran; echo planted-by-74 > ${runnerPath(74)}/planted; ls -A ${cache} > .cache-root 2>&1`;
    const a = await runJob(filtered(811, plant, ['echo cached-by-74 > cached.txt', 'echo "74 sees cache_dir: [$(cat .cache-root)]"'], { projectId: 74, cachePaths: ['cached.txt'] }), { executor: EXECUTOR, env: fx.env });
    expect(a.outcome, a.trace).toBe('success');
    // Its own cache is where the runner looks for it, and nothing else of cache_dir is there.
    expect(a.trace).toContain('74 sees cache_dir: [group]');
    expect(readFileSync(join(cache, 'project-74', 'planted'), 'utf8')).toBe('planted-by-74\n');
    expect(existsSync(join(cache, 'project-74', 'cache.tar'))).toBe(true);
    const cachedBefore = readFileSync(join(cache, 'project-74', 'cache.tar'));

    // Project 75's get_sources goes for project 74's caches, by the runner's path and by the storage's.
    const attack = [
      'test -e .ran && exit 0; touch .ran',
      `{ echo "cache_dir: [$(ls -A ${cache})] group: [$(ls -A ${join(cache, 'group')})]"; cat ${runnerPath(74)}/planted ${join(cache, 'project-74')}/planted; echo overwritten > ${runnerPath(74)}/planted; echo overwritten > ${join(cache, 'project-74')}/cache.tar; mkdir -p ${runnerPath(74)}; } > .loot 2>&1`,
    ].join('; ');
    const b = await runJob(filtered(812, attack, ['cat .loot'], { projectId: 75 }), { executor: EXECUTOR, env: fx.env });
    expect(b.outcome, b.trace).toBe('success');
    expect(b.trace).toContain('cache_dir: [group] group: [project-75\nproject-75-empty]');
    expect(b.trace).toContain(`cat: ${runnerPath(74)}/planted: No such file or directory`);
    expect(b.trace).toContain(`cat: ${join(cache, 'project-74')}/planted: No such file or directory`);
    expect(b.trace).toMatch(/mkdir: cannot create directory .*: Permission denied/);
    expect(b.trace).not.toContain('planted-by-74');

    // Project 74's next job restores its cache as it left it.
    expect(readFileSync(join(cache, 'project-74', 'planted'), 'utf8')).toBe('planted-by-74\n');
    expect(readFileSync(join(cache, 'project-74', 'cache.tar'))).toEqual(cachedBefore);
    const again = await runJob({ id: 813, projectId: 74, steps: [{ name: 'script', script: ['cat cached.txt'] }], cachePaths: ['cached.txt'] }, { executor: EXECUTOR, env: fx.env });
    expect(again.outcome, again.trace).toBe('success');
    expect(again.trace).toContain('cached-by-74');
    // cache_dir is root's: no host user changes which directory a project's caches are.
    expect(statSync(cache).uid).toBe(0);
    expect(statSync(join(cache, 'project-74')).uid).toBe(65534);
  });

  it('stops a fork bomb in a guest stage at limits.pids, leaving nothing', async () => {
    const marker = `quarters-fork-bomb-${process.pid}`;
    const result = await runJob({ id: 804, projectId: 72, steps: [{ name: 'script', script: [
      `n=0; while [ $n -lt 5000 ]; do sh -c 'sleep 300; : ${marker}' & n=$((n+1)); done`,
      'echo "ALL 5000 STARTED"',
    ] }] }, { executor: EXECUTOR, env: fx.env });
    expect(result.outcome, result.trace).toBe('script_failure');
    expect(result.trace).not.toContain('ALL 5000 STARTED');
    expect(result.trace).toMatch(/can't fork|Resource temporarily unavailable/);
    expect(processesWith(marker)).toEqual([]);
  });

  it('bounds the guest\'s RAM-backed /tmp and /dev/shm by limits.tmpfs_mib', async () => {
    const result = await runJob({ id: 805, projectId: 72, steps: [{ name: 'script', script: [
      'df -m /tmp /dev/shm | tail -n +2',
      'if dd if=/dev/zero of=/dev/shm/big bs=1M count=2048; then echo "/dev/shm UN""BOUNDED"; fi; rm -f /dev/shm/big',
      'dd if=/dev/zero of=/tmp/big bs=1M count=2048',
    ] }] }, { executor: EXECUTOR, env: fx.env });
    expect(result.outcome, result.trace).toBe('script_failure');
    expect(result.trace.match(/No space left on device/g)?.length).toBeGreaterThanOrEqual(2);
    expect(result.trace).toMatch(/tmpfs\s+64\s/);
    expect(result.trace).not.toContain('UNBOUNDED');
  });
});
