import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { mkdir, readlink, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { execa } from 'execa';
import { writeBusyboxTree } from '../../src/executor/baseos/busybox.js';
import { runJob } from '../runner-emulator/emulator.js';
import { createExecutorFixture, EXECUTOR, type ExecutorFixture } from '../support/executor-fixture.js';
import { containerSkipReason, reportSkip } from '../support/capabilities.js';

const skip = reportSkip(containerSkipReason(), 'base OS management');

describe.skipIf(skip)('base OS and instance management', () => {
  let fx: ExecutorFixture;
  let tarball: string;

  beforeAll(async () => {
    fx = await createExecutorFixture('[instance]\nrefresh_minutes = 0', { loadBase: false });
    // A bootstrap-style tarball: the tree wrapped in one directory, as Arch's root.x86_64/.
    const tree = join(fx.dir, 'tree', 'root.x86_64');
    await mkdir(tree, { recursive: true });
    await writeBusyboxTree(tree);
    await writeFile(join(tree, 'etc/marker'), 'from the tarball\n');
    tarball = join(fx.dir, 'base.tar.zst');
    await execa('tar', ['--zstd', '-cf', tarball, '-C', join(fx.dir, 'tree'), 'root.x86_64']);
  });
  afterAll(async () => {
    await fx?.remove();
  });

  const current = async (): Promise<string> => basename(await readlink(join(fx.workDir, 'baseos', 'current')));
  const mode = (path: string): string => (statSync(path).mode & 0o7777).toString(8);
  // The loader's umask must not leak into the layers.
  const cliUnderUmask = (args: string[]) => execa('sh', ['-c', 'umask 077; exec "$@"', 'sh', ...EXECUTOR, ...args], { env: fx.env, reject: false });

  it('tells how to load a base when none is loaded', async () => {
    const result = await runJob({ id: 401, projectId: 9, steps: [{ name: 'script', script: ['true'] }] }, { executor: EXECUTOR, env: fx.env, prepareRetryIntervalMs: 10 });
    expect(result.outcome).toBe('system_failure');
    expect(result.trace).toContain('no base OS loaded');
    expect(result.trace).toContain('baseos load --tarball FILE');
  });

  it('loads a tarball as a versioned base with explicit modes, whatever the umask', async () => {
    const loaded = await cliUnderUmask(['baseos', 'load', '--tarball', tarball]);
    expect(loaded.exitCode, loaded.stderr).toBe(0);
    const version = await current();
    const root = join(fx.workDir, 'baseos', 'versions', version, 'root');
    expect(readFileSync(join(root, 'etc/marker'), 'utf8')).toBe('from the tarball\n');
    expect(mode(root)).toBe('755');
    expect(mode(join(root, 'etc/passwd'))).toBe('644');
    const list = await fx.cli(['baseos', 'list']);
    expect(list.stdout).toContain(`* ${version}  tarball ${tarball}`);
  });

  it('refuses a tarball that holds no OS tree, keeping the current version', async () => {
    const before = await current();
    const junk = join(fx.dir, 'junk.tar');
    await execa('tar', ['-cf', junk, '-C', fx.dir, 'executor.toml']);
    const result = await fx.cli(['baseos', 'load', '--tarball', junk]);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain('did not produce an OS tree');
    expect(await current()).toBe(before);
    expect(readdirSync(join(fx.workDir, 'baseos', 'versions')).filter((n) => n.startsWith('.'))).toEqual([]);
  });

  it('updates in a temporary layer and switches atomically; a running job keeps its version; cleanup baseos removes only unused versions', async () => {
    const old = await current();
    // A job prepared on the old version, still "running" (this test process is its runner).
    const jobEnv = { CUSTOM_ENV_CI_JOB_ID: '402', CUSTOM_ENV_CI_PROJECT_ID: '9' };
    expect((await fx.cli(['prepare'], jobEnv)).exitCode).toBe(0);
    const update = await cliUnderUmask(['baseos', 'update']);
    expect(update.exitCode, update.stderr).toBe(0);
    const updated = await current();
    expect(updated).not.toBe(old);
    const newRoot = join(fx.workDir, 'baseos', 'versions', updated, 'root');
    // The "none" package manager installs the branch's source list; the rest of the tree is the old one.
    expect(readFileSync(join(newRoot, 'etc/quarters/sources.list'), 'utf8')).toContain('busybox test base');
    expect(readFileSync(join(newRoot, 'etc/marker'), 'utf8')).toBe('from the tarball\n');
    expect(mode(newRoot)).toBe('755');
    expect(existsSync(join(fx.workDir, 'baseos', 'versions', updated, 'update'))).toBe(false);

    const keep = await fx.cli(['cleanup', 'baseos']);
    expect(keep.stdout).toBe('nothing to remove');
    expect(existsSync(join(fx.workDir, 'baseos', 'versions', old))).toBe(true);
    expect((await fx.cli(['cleanup'], jobEnv)).exitCode).toBe(0);
    const removed = await fx.cli(['cleanup', 'baseos']);
    expect(removed.stdout).toBe(`removed ${old}`);
    expect(existsSync(join(fx.workDir, 'baseos', 'versions', old))).toBe(false);
  });

  it('builds an instance per branch on the current base, refreshes it, and cleanup INSTANCE removes unused versions', async () => {
    await writeFile(join(fx.sourceLists, 'testing.list'), 'deb http://example.invalid testing main\n');
    const job = (id: number) => runJob({ id, projectId: 9, variables: { QUARTERS_TARGET_BRANCH: 'testing' }, steps: [{ name: 'script', script: ['cat /etc/quarters/sources.list'] }] }, { executor: EXECUTOR, env: fx.env });
    const first = await job(403);
    expect(first.outcome, first.trace).toBe('success');
    expect(first.trace).toContain('deb http://example.invalid testing main');
    expect(first.trace).toContain('refreshing instance testing-x86_64');
    // refresh_minutes = 0: every job refreshes.
    const second = await job(404);
    expect(second.outcome).toBe('success');
    const versions = readdirSync(join(fx.workDir, 'instances', 'testing-x86_64', 'versions'));
    expect(versions.length).toBeGreaterThanOrEqual(2);
    const cleaned = await fx.cli(['cleanup', 'testing-x86_64']);
    expect(cleaned.exitCode, cleaned.stderr).toBe(0);
    expect(readdirSync(join(fx.workDir, 'instances', 'testing-x86_64', 'versions'))).toEqual([]);
  });
});
