// quarters-executor ships as one file (dist/executor/quarters-executor.cjs, made by
// scripts/bundle-executor.js): it must run on a runner host from that file alone, without
// node_modules, and speak the protocol's `config` answer from there.
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
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
});
