import { describe, expect, it } from 'vitest';
import { chownSync, mkdirSync, mkdtempSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDirBelow, writeNewFile } from './no-follow.js';

const user = { uid: 65534, gid: 65534 };
const asRoot = process.getuid?.() === 0;

describe.skipIf(!asRoot)('no-follow (as root)', () => {
  const setup = () => {
    const top = mkdtempSync(join(tmpdir(), 'quarters-nofollow-'));
    const target = join(top, 'root-only');
    mkdirSync(target, { mode: 0o700 });
    writeFileSync(join(target, 'file'), 'root\n', { mode: 0o600 });
    return { top, target };
  };

  it('makes and chowns missing levels, refuses a link or a stranger\'s directory on the way, and never chowns through it', async () => {
    const { top, target } = setup();
    await (await openDirBelow(top, ['a', 'b'], user, { mode: 0o755 })).close();
    expect(statSync(join(top, 'a', 'b')).uid).toBe(user.uid);
    symlinkSync(target, join(top, 'a', 'link'));
    await expect(openDirBelow(top, ['a', 'link', 'x'], user, { mode: 0o755 })).rejects.toThrow(/a symbolic link or another kind of file was put there/);
    await expect(openDirBelow(top, ['a', 'link'], user)).rejects.toThrow(/refused/);
    mkdirSync(join(top, 'a', 'roots'));
    chownSync(join(top, 'a'), user.uid, user.gid);
    await expect(openDirBelow(top, ['a', 'roots'], user)).rejects.toThrow(/owned by uid 0, not by the host user/);
    expect(statSync(target).uid).toBe(0);
    expect(statSync(target).mode & 0o7777).toBe(0o700);
  });

  it('writes a new file in place of a link, leaving the link\'s target alone', async () => {
    const { top, target } = setup();
    symlinkSync(join(target, 'file'), join(top, 'script.sh'));
    await writeNewFile(join(top, 'script.sh'), 'echo hi\n', 0o400, user);
    expect(readFileSync(join(target, 'file'), 'utf8')).toBe('root\n');
    expect(statSync(join(target, 'file')).uid).toBe(0);
    const made = statSync(join(top, 'script.sh'));
    expect([made.isFile(), made.uid, made.mode & 0o7777]).toEqual([true, user.uid, 0o400]);
  });
});
