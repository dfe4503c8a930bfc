import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { runJob, type EmulatedJob } from '../runner-emulator/emulator.js';
import { createExecutorFixture, EXECUTOR, type ExecutorFixture } from '../support/executor-fixture.js';
import { backendSkipReason, reportSkip, TEST_BACKENDS } from '../support/capabilities.js';
import { mountsMentioning, processesWith } from '../support/processes.js';

// The same suite on every backend: the protocol, the job's stages and cleanup do not depend on how a guest is isolated.
for (const backend of TEST_BACKENDS) {
  const skip = reportSkip(backendSkipReason(backend), `executor jobs (${backend})`);

  // A VM boots for every guest stage: emulated (TCG) that is seconds each.
  describe.skipIf(skip)(`quarters-executor through the runner emulator (busybox base, ${backend} backend)`, { timeout: backend === 'qemu' ? 600_000 : 60_000 }, () => {
    let fx: ExecutorFixture;
    let repository: string;

    beforeAll(async () => {
      fx = await createExecutorFixture('', { backend });
      repository = join(fx.dir, 'repo.git');
      await execa('sh', ['-c', `git init -q -b main "${repository}" && cd "${repository}" && echo 'pkgname=hello' > PKGBUILD && git add PKGBUILD && git -c user.name=t -c user.email=t@e commit -qm init && chown -R 65534:65534 "${repository}"`]);
    });
    afterAll(async () => {
      await fx?.remove();
    });

    const job = (id: number, steps: string[], extra: Partial<EmulatedJob> = {}): EmulatedJob => ({ id, projectId: 42, repository, steps: [{ name: 'script', script: steps }], ...extra });
    const leftovers = (name: string): string[] => [
      ...readdirSync(join(fx.workDir, 'workspaces')).filter((n) => n.includes(name)),
      ...readdirSync(join(fx.workDir, 'builds')).filter((n) => n.includes(name)),
      ...mountsMentioning(fx.workDir),
    ];

    it('answers config with exactly the documented JSON on stdout', async () => {
      const result = await fx.cli(['config'], { CUSTOM_ENV_CI_JOB_ID: '7', CUSTOM_ENV_CI_PROJECT_ID: '3', CUSTOM_ENV_CI_CONCURRENT_PROJECT_ID: '1', CUSTOM_ENV_CI_RUNNER_SHORT_TOKEN: 'abcdEF12' });
      expect(result.exitCode).toBe(0);
      const answer = JSON.parse(result.stdout) as Record<string, unknown>;
      expect(Object.keys(answer).sort()).toEqual(['builds_dir', 'builds_dir_is_shared', 'cache_dir', 'driver', 'hostname', 'job_env']);
      expect(answer.builds_dir).toBe(join(fx.workDir, 'builds', 'q-abcdef12-p3-c1-j7'));
      expect(answer.builds_dir_is_shared).toBe(false);
      expect(answer.driver).toMatchObject({ name: 'quarters-executor' });
    });

    it('answers a bad config with the system-failure code and a message naming the file and the key', async () => {
      const bad = join(fx.dir, 'bad.toml');
      await writeFile(bad, '[limits]\nmemory_mib = "lots"\n');
      const result = await fx.cli(['config'], { QUARTERS_EXECUTOR_CONFIG: bad, SYSTEM_FAILURE_EXIT_CODE: '42', CUSTOM_ENV_CI_JOB_ID: '1', CUSTOM_ENV_CI_PROJECT_ID: '1' });
      expect(result.exitCode).toBe(42);
      expect(result.stdout).toBe('');
      expect(result.stderr).toMatch(new RegExp(`system failure: ${bad}: limits.memory_mib: `));
    });

    it('runs a job: sources on the host as the unprivileged user, the script in the container, nothing left after cleanup', async () => {
      const result = await runJob(job(101, [
        'test -f PKGBUILD',
        'echo "guest uid $(id -u), host clone owned by $(stat -c %u PKGBUILD)"',
        'ls /sys/class/net > /dev/null; cat /proc/net/dev | tail -n +3 | cut -d: -f1 | tr -d " " > interfaces',
        'echo built > "$QUARTERS_OUTPUT_DIR/hello-1-1-any.pkg.tar.zst"',
      ], { afterScript: ['echo "after: $CI_JOB_STATUS"'] }), { executor: EXECUTOR, env: fx.env });
      expect(result.outcome, result.trace).toBe('success');
      expect(result.commands.map((c) => c.stage ?? c.verb)).toEqual(['config', 'prepare', 'prepare_script', 'get_sources', 'step_script', 'after_script', 'cleanup_file_variables', 'cleanup']);
      expect(result.trace).toContain('guest uid 0, host clone owned by 65534');
      expect(result.trace).toContain('after: success');
      expect(result.trace).toMatch(/resource usage: wall [\d.]+ s, CPU [\d.]+ s/);
      expect(leftovers('j101')).toEqual([]);
      // The usage outlives the workspace: one record per job in work_dir/logs/usage.jsonl.
      const records = readFileSync(join(fx.workDir, 'logs', 'usage.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
      const record = records.find((r) => r.job_id === '101');
      expect(record).toMatchObject({ job: 'q-emulatr1-p42-c0-j101', wall_seconds: expect.any(Number), disk_bytes: expect.any(Number) });
      expect(record!.wall_seconds as number).toBeGreaterThan(0);
    });

    it('fails a failing script with the build-failure code, still runs after_script, and cleans up', async () => {
      const result = await runJob(job(102, ['echo about to fail', 'exit 3'], { afterScript: ['echo "after: $CI_JOB_STATUS"'] }), { executor: EXECUTOR, env: fx.env });
      expect(result.outcome).toBe('script_failure');
      expect(result.commands.find((c) => c.stage === 'step_script')?.exitCode).toBe(1);
      expect(result.trace).toContain('after: failed');
      expect(leftovers('j102')).toEqual([]);
    });

    it('keeps credentials out of the guest and the network away from the build', async () => {
      const result = await runJob(job(103, [
        // Split in two so that the script's own text does not contain what it looks for.
        'if grep -r "glcbt-103-secret""-job-token" /run/quarters . 2>/dev/null || env | grep -q "glcbt-103-secret""-job-token"; then echo LE""AK; fi',
        'if [ -e "$CI_PROJECT_DIR.tmp/CREDENTIALS" ]; then echo TMP""DIR; fi',
        'echo "remote: $(grep url .git/config)"',
        'echo "token seen as: $CI_JOB_TOKEN"',
        'echo "interfaces: $(tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d " " | tr "\\n" " ")"',
      ]), { executor: EXECUTOR, env: fx.env });
      expect(result.outcome, result.trace).toBe('success');
      expect(result.trace).toContain('token seen as: [MASKED]');
      expect(result.trace).not.toContain('LEAK');
      expect(result.trace).not.toContain('TMPDIR');
      expect(result.trace).toContain('remote: \turl = https://gitlab-ci-token:[MASKED]@gitlab.example.org/group/project-42.git');
      expect(result.trace).toMatch(/interfaces: lo \n/);
    });

    it('never lets two concurrent jobs see each other\'s files', async () => {
      const steps = (me: string, other: string): string[] => [
        `echo ${me} > /tmp/mine; echo ${me} > "$QUARTERS_OUTPUT_DIR/${me}.out"`,
        'sleep 2',
        `test "$(cat /tmp/mine)" = ${me}`,
        `test ! -e "$QUARTERS_OUTPUT_DIR/${other}.out"`,
        // "marke[r]": the pattern does not match grep's own command line.
        `if grep -l "${other}-marke[r]" /proc/[0-9]*/cmdline 2>/dev/null; then exit 9; fi`,
        `sh -c "sleep 1; : ${me}-marker"`,
      ];
      const [a, b] = await Promise.all([
        runJob(job(104, steps('alpha', 'beta'), { concurrentId: 0 }), { executor: EXECUTOR, env: fx.env }),
        runJob(job(105, steps('beta', 'alpha'), { concurrentId: 1 }), { executor: EXECUTOR, env: fx.env }),
      ]);
      expect(a.outcome, a.trace).toBe('success');
      expect(b.outcome, b.trace).toBe('success');
      expect(a.config?.builds_dir).not.toBe(b.config?.builds_dir);
    });

    it('reports a broken base as a system failure', async () => {
      const broken = await createExecutorFixture('', { loadBase: false, backend });
      try {
        // A base whose /bin/sh is gone: the container cannot run anything (its tree, and the copy owned by the guests' ids).
        await broken.cli(['baseos', 'load', '--busybox']);
        const current = join(broken.workDir, 'baseos', 'current');
        await execa('sh', ['-c', 'rm -f "$1"/root*/bin/sh', 'break', current]);
        // A VM boots the image made when the base was loaded: it loses its /bin/sh too.
        if (backend === 'qemu') await execa('sh', ['-c', 'for disk in "$1"/qemu-*/disk.raw; do debugfs -w -R "rm /bin/sh" "$disk"; done', 'break', current]);
        const result = await runJob(job(106, ['true']), { executor: EXECUTOR, env: broken.env });
        expect(result.outcome, result.trace).toBe('system_failure');
        // The instance layer is the first thing to run in the base: prepare reports it, and the runner retries.
        expect(result.commands.filter((c) => c.verb === 'prepare').map((c) => c.exitCode)).toEqual([2, 2, 2]);
        expect(result.trace).toMatch(backend === 'qemu' ? /refreshing instance stable-x86_64 failed: the upgrade exited with 127/ : /refreshing instance stable-x86_64 failed: the container did not run the command to the end/);
        const workspaces = join(broken.workDir, 'workspaces');
        expect(existsSync(workspaces) ? readdirSync(workspaces) : []).toEqual([]);
      } finally {
        await broken.remove();
      }
    });

    it('fails prepare with a system failure naming a missing source list', async () => {
      const result = await runJob(job(107, ['true'], { variables: { QUARTERS_TARGET_BRANCH: 'nosuchbranch' } }), { executor: EXECUTOR, env: fx.env, prepareRetryIntervalMs: 10 });
      expect(result.outcome).toBe('system_failure');
      expect(result.trace).toContain('no source list for target branch "nosuchbranch"');
      expect(result.commands.filter((c) => c.verb === 'prepare')).toHaveLength(3);
      expect(result.commands.filter((c) => c.verb === 'cleanup')).toHaveLength(3);
      expect(processesWith('j107')).toEqual([]);
      expect(readFileSync(fx.configFile, 'utf8')).toContain('work_dir');
    });
  });
}
