// quarters-executor ships as one file (dist/executor/quarters-executor.cjs, made by
// scripts/bundle-executor.js): it must run on a runner host from that file alone, without
// node_modules, and speak the protocol's `config` answer from there.
import { chown, copyFile, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXECUTOR } from '../support/executor-fixture.js';

describe('the quarters-executor bundle', () => {
  let dir: string;
  let alone: string;
  beforeAll(async () => {
    // Outside the repository, so no node_modules above it can be found.
    dir = await mkdtemp(join(tmpdir(), 'quarters-executor-bundle-'));
    alone = join(dir, 'quarters-executor.cjs');
    await copyFile(EXECUTOR[1], alone);
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('is the package bin', async () => {
    const pkg = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as { bin: Record<string, string> };
    expect(join(import.meta.dirname, '../..', pkg.bin['quarters-executor']!)).toBe(EXECUTOR[1]);
  });

  it('imports nothing but Node built-ins', async () => {
    const text = await readFile(EXECUTOR[1], 'utf8');
    const specifiers = [...text.matchAll(/(?:^|\n)import\s[^'"]*?["']([^"']+)["']|\bimport\(\s*["']([^"']+)["']\s*\)|\brequire\(\s*["']([^"']+)["']\s*\)/g)].map((m) => m[1] ?? m[2] ?? m[3]);
    expect(specifiers.length).toBeGreaterThan(0);
    expect(specifiers.filter((s) => !s!.startsWith('node:'))).toEqual([]);
  });

  it('runs from its file alone: usage, and the protocol config answer', async () => {
    const help = await execa('node', [alone, '--help'], { reject: false });
    expect(help.exitCode).toBe(0);
    expect(help.stdout).toContain('quarters-executor config | prepare | run SCRIPT STAGE | cleanup');
    const config = join(dir, 'executor.toml');
    await writeFile(config, `work_dir = "${join(dir, 'work')}"\nhost_user = "65534:65534"\n`);
    const answer = await execa('node', [alone, 'config'], { reject: false, env: { QUARTERS_EXECUTOR_CONFIG: config, CUSTOM_ENV_CI_JOB_ID: '7', CUSTOM_ENV_CI_PROJECT_ID: '3' } });
    expect(answer.stderr).toBe('');
    expect(answer.exitCode).toBe(0);
    const json = JSON.parse(answer.stdout) as Record<string, unknown>;
    const { version } = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(json).toMatchObject({ builds_dir: join(dir, 'work', 'builds', 'q-local-p3-cx-j7'), builds_dir_is_shared: false, driver: { name: 'quarters-executor', version } });
  });

  it('carries the executor and its sandbox program as comments after the launcher, and runs no file whose end is not its own build', async () => {
    const text = await readFile(EXECUTOR[1], 'latin1');
    const lines = text.split('\n');
    const marker = lines.findIndex((line) => line.startsWith('//quarters-executor-payload '));
    expect(marker).toBeGreaterThan(0);
    // Everything after the launcher is a comment (skipped at each start, not scanned as a string literal): the executor, then the program.
    const payload = lines.slice(marker + 1, -1);
    expect(payload.length).toBeGreaterThan(2);
    expect(payload.filter((line) => !line.startsWith('//'))).toEqual([]);
    expect(lines.at(-1)).toBe('');
    expect(Buffer.from(payload.at(-1)!.slice(2), 'base64').subarray(0, 4)).toEqual(Buffer.from([0x7f, 0x45, 0x4c, 0x46]));
    // A file whose payload does not end where this launcher's build says (changed, or another build's) is refused, not half-read.
    const changed = join(dir, 'changed.cjs');
    await writeFile(changed, `${text}//\n`, 'latin1');
    const result = await execa('node', [changed, '--help'], { reject: false });
    expect(result.exitCode).not.toBe(0);
    expect(result.stderr).toContain(`${changed} is not the executor build`);
  });

  it('starts `config` and `--help` without the built-ins it does not use (start-up is per-stage overhead)', async () => {
    // Node's list of the built-ins it has loaded, at exit: child_process, crypto, fs/promises, zlib, dns and net cost 1 to 7 ms each.
    const probe = join(dir, 'loaded-builtins.cjs');
    await writeFile(probe, `process.on('exit', () => require('fs').writeSync(2, '\\n' + JSON.stringify(process.moduleLoadList.filter((m) => m.startsWith('NativeModule ')).map((m) => m.slice(13)))));\n`);
    const config = join(dir, 'executor.toml');
    await writeFile(config, `work_dir = "${join(dir, 'work')}"\nhost_user = "65534:65534"\n`);
    const env = { QUARTERS_EXECUTOR_CONFIG: config, CUSTOM_ENV_CI_JOB_ID: '7', CUSTOM_ENV_CI_PROJECT_ID: '3' };
    for (const args of [['--help'], ['config']]) {
      const result = await execa('node', ['--require', probe, alone, ...args], { reject: false, env });
      expect(result.exitCode).toBe(0);
      const loaded = JSON.parse(result.stderr.trim().split('\n').at(-1)!) as string[];
      expect(loaded.filter((name) => ['child_process', 'crypto', 'fs/promises', 'zlib', 'dns/promises', 'net', 'stream'].includes(name))).toEqual([]);
    }
  });

  it('names the key of a bad config value in English', async () => {
    const config = join(dir, 'bad.toml');
    await writeFile(config, 'work_dir = "relative/path"\n[limits]\nmemory_mib = "lots"\n');
    const answer = await execa('node', [alone, 'config'], { reject: false, env: { QUARTERS_EXECUTOR_CONFIG: config, CUSTOM_ENV_CI_JOB_ID: '7', CUSTOM_ENV_CI_PROJECT_ID: '3', SYSTEM_FAILURE_EXIT_CODE: '42' } });
    expect(answer.exitCode).toBe(42);
    expect(answer.stderr).toMatch(/bad\.toml.*work_dir.*expected an absolute path/);
    await writeFile(config, '[limits]\nmemory_mib = "lots"\n');
    const second = await execa('node', [alone, 'config'], { reject: false, env: { QUARTERS_EXECUTOR_CONFIG: config, CUSTOM_ENV_CI_JOB_ID: '7', CUSTOM_ENV_CI_PROJECT_ID: '3', SYSTEM_FAILURE_EXIT_CODE: '42' } });
    expect(second.stderr).toMatch(/limits\.memory_mib.*expected number, received string/i);
  });

  describe.skipIf(process.getuid?.() !== 0)('caches it keeps, as root, between starts', () => {
    const env = (cacheDir: string, config: string): Record<string, string> => ({ QUARTERS_EXECUTOR_CACHE_DIR: cacheDir, QUARTERS_EXECUTOR_CONFIG: config, CUSTOM_ENV_CI_JOB_ID: '7', CUSTOM_ENV_CI_PROJECT_ID: '3' });
    const answer = async (cacheDir: string, config: string): Promise<{ builds_dir: string }> => {
      const result = await execa('node', [alone, 'config'], { reject: false, env: env(cacheDir, config) });
      expect(result.stderr).toBe('');
      expect(result.exitCode).toBe(0);
      return JSON.parse(result.stdout) as { builds_dir: string };
    };
    const settle = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 2100));

    it('keeps the compiled code and the validated config root-only, and sees a changed config or secret file at once', async () => {
      const cacheDir = join(dir, 'cache-a');
      const config = join(dir, 'cached.toml');
      await writeFile(join(dir, 'token'), 'first\n', { mode: 0o600 });
      await writeFile(config, `work_dir = "${join(dir, 'one')}"\nhost_user = "65534:65534"\n[server]\ntoken_file = "token"\n`);
      // A file changed this recently is not cached (it may have changed while read).
      await settle();
      expect((await answer(cacheDir, config)).builds_dir).toBe(join(dir, 'one', 'builds', 'q-local-p3-cx-j7'));
      const names = await readdir(cacheDir);
      expect(names.filter((name) => /^code-[0-9a-f]{16}-v[\d.]+-[a-z0-9]+-config\.v8$/.test(name))).toHaveLength(1);
      const cached = names.find((name) => /^config-[0-9a-f]{8}\.json$/.test(name))!;
      expect(cached).toBeDefined();
      for (const name of ['.', ...names]) {
        const info = await stat(join(cacheDir, name));
        expect([info.uid, info.mode & 0o077]).toEqual([0, 0]);
      }
      const entry = JSON.parse(await readFile(join(cacheDir, cached), 'utf8')) as { files: Record<string, string>; config: { server: { token: string } } };
      expect(Object.keys(entry.files)).toEqual([config, join(dir, 'token')]);
      expect(entry.config.server.token).toBe('first');

      // A second start answers from the caches, the same.
      expect((await answer(cacheDir, config)).builds_dir).toBe(join(dir, 'one', 'builds', 'q-local-p3-cx-j7'));
      await writeFile(config, `work_dir = "${join(dir, 'two')}"\nhost_user = "65534:65534"\n[server]\ntoken_file = "token"\n`);
      expect((await answer(cacheDir, config)).builds_dir).toBe(join(dir, 'two', 'builds', 'q-local-p3-cx-j7'));
      await settle();
      await answer(cacheDir, config);
      await writeFile(join(dir, 'token'), 'second\n');
      await settle();
      await answer(cacheDir, config);
      expect((JSON.parse(await readFile(join(cacheDir, cached), 'utf8')) as typeof entry).config.server.token).toBe('second');
    });

    it('trusts no cache another user could have written, and survives one V8 rejects', async () => {
      const cacheDir = join(dir, 'cache-b');
      const config = join(dir, 'planted.toml');
      await writeFile(config, `work_dir = "${join(dir, 'real')}"\nhost_user = "65534:65534"\n`);
      await settle();
      await answer(cacheDir, config);
      const names = await readdir(cacheDir);
      const code = names.find((name) => name.endsWith('-config.v8'))!;
      const cached = names.find((name) => name.startsWith('config-'))!;
      // A cache that says work_dir is elsewhere, left by another user: not read.
      const planted = (await readFile(join(cacheDir, cached), 'utf8')).replaceAll(join(dir, 'real'), join(dir, 'planted'));
      await writeFile(join(cacheDir, cached), planted);
      await chown(join(cacheDir, cached), 65534, 65534);
      expect((await answer(cacheDir, config)).builds_dir).toBe(join(dir, 'real', 'builds', 'q-local-p3-cx-j7'));
      // Root's own cache, unreadable to V8: compiled anew and replaced.
      await writeFile(join(cacheDir, code), 'not a code cache');
      expect((await answer(cacheDir, config)).builds_dir).toBe(join(dir, 'real', 'builds', 'q-local-p3-cx-j7'));
      expect((await stat(join(cacheDir, code))).size).toBeGreaterThan(10_000);
      // And no cache at all where the directory is not root's alone.
      const shared = join(dir, 'cache-c');
      await answer(shared, config);
      await rm(shared, { recursive: true });
      await execa('mkdir', ['-m', '0777', shared]);
      await answer(shared, config);
      expect(await readdir(shared)).toEqual([]);
    });
  });
});
