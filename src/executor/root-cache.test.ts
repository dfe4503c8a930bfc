import { chmodSync, chownSync, linkSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readRootCache, rootCacheDir, writeRootCache } from './root-cache.js';

const asRoot = process.getuid?.() === 0;

describe.skipIf(!asRoot)('the root-only cache directory', () => {
  let top: string;
  let dir: string;
  beforeEach(() => {
    top = mkdtempSync(join(tmpdir(), 'quarters-root-cache-'));
    dir = join(top, 'cache');
  });
  afterEach(() => rmSync(top, { recursive: true, force: true }));

  it('is made root-only and gives back what was written, whole', () => {
    writeRootCache(dir, 'entry', 'cached text');
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(join(dir, 'entry')).mode & 0o777).toBe(0o600);
    expect(readRootCache(dir, 'entry')?.toString()).toBe('cached text');
    writeRootCache(dir, 'entry', 'replaced');
    expect(readRootCache(dir, 'entry')?.toString()).toBe('replaced');
    expect(readdirSync(dir)).toEqual(['entry']);
  });

  it('ignores a file others may write or that is not root\'s, a link, and a second name of a file', () => {
    writeRootCache(dir, 'entry', 'x');
    chmodSync(join(dir, 'entry'), 0o620);
    expect(readRootCache(dir, 'entry')).toBeNull();
    chmodSync(join(dir, 'entry'), 0o600);
    chownSync(join(dir, 'entry'), 65534, 65534);
    expect(readRootCache(dir, 'entry')).toBeNull();
    writeFileSync(join(top, 'elsewhere'), 'planted', { mode: 0o600 });
    symlinkSync(join(top, 'elsewhere'), join(dir, 'link'));
    expect(readRootCache(dir, 'link')).toBeNull();
    linkSync(join(top, 'elsewhere'), join(dir, 'hardlink'));
    expect(readRootCache(dir, 'hardlink')).toBeNull();
  });

  it('neither reads nor writes in a directory that is not root\'s alone', () => {
    mkdirSync(dir, { mode: 0o700 });
    writeFileSync(join(dir, 'entry'), 'x', { mode: 0o600 });
    chmodSync(dir, 0o770);
    expect(readRootCache(dir, 'entry')).toBeNull();
    writeRootCache(dir, 'other', 'y');
    expect(readdirSync(dir)).toEqual(['entry']);
    chmodSync(dir, 0o700);
    chownSync(dir, 65534, 65534);
    expect(readRootCache(dir, 'entry')).toBeNull();
  });

  it('is where QUARTERS_EXECUTOR_CACHE_DIR says, and nowhere when it is empty', () => {
    expect(rootCacheDir({})).toBe('/run/quarters-executor');
    expect(rootCacheDir({ QUARTERS_EXECUTOR_CACHE_DIR: dir })).toBe(dir);
    expect(rootCacheDir({ QUARTERS_EXECUTOR_CACHE_DIR: '' })).toBeNull();
  });
});
