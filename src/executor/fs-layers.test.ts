import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, readlink, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeDir, mountsBelow, switchSymlink, writeFileAtomic } from './fs-layers.js';

const mode = (path: string): number => statSync(path).mode & 0o7777;

describe('layer filesystem steps', () => {
  it('gives every directory it creates the mode asked for, whatever the umask', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'quarters-fs-'));
    const old = process.umask(0o077);
    try {
      await makeDir(join(dir, 'a', 'b', 'c'), 0o755);
    } finally {
      process.umask(old);
    }
    expect([mode(join(dir, 'a')), mode(join(dir, 'a', 'b')), mode(join(dir, 'a', 'b', 'c'))]).toEqual([0o755, 0o755, 0o755]);
    // The existing parent is not touched.
    expect(mode(dir)).toBe(0o700);
  });

  it('writes files and switches links atomically', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'quarters-fs-'));
    await writeFileAtomic(join(dir, 'state.json'), '{}', 0o600);
    expect(readFileSync(join(dir, 'state.json'), 'utf8')).toBe('{}');
    expect(mode(join(dir, 'state.json'))).toBe(0o600);
    await mkdir(join(dir, 'v1'));
    await mkdir(join(dir, 'v2'));
    await symlink('v1', join(dir, 'current'));
    await switchSymlink(join(dir, 'current'), 'v2');
    expect(await readlink(join(dir, 'current'))).toBe('v2');
    expect(existsSync(join(dir, 'state.json.tmp-' + process.pid))).toBe(false);
  });

  it('finds the mounts below paths, deepest first', async () => {
    expect(await mountsBelow('/proc')).toContain('/proc');
    expect(await mountsBelow('/nonexistent-quarters-path')).toEqual([]);
    const both = await mountsBelow('/proc', '/sys');
    expect(both).toEqual(expect.arrayContaining(['/proc', '/sys']));
    expect(both.map((point) => point.length)).toEqual([...both.map((point) => point.length)].sort((a, b) => b - a));
  });
});
