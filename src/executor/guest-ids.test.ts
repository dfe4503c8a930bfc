import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkGuestIds, isGuestId } from './guest-ids.js';

const BASE = 0x70000000;
const made: string[] = [];
afterAll(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

/** Id files with these contents (the others empty). */
function idFiles(contents: { passwd?: string; group?: string; subuid?: string; subgid?: string }): Record<string, string> {
  const dir = mkdtempSync(join(tmpdir(), 'quarters-guest-ids-'));
  made.push(dir);
  return Object.fromEntries(['passwd', 'group', 'subuid', 'subgid'].map((kind) => {
    const file = join(dir, kind);
    writeFileSync(file, contents[kind as keyof typeof contents] ?? '');
    return [kind, file];
  }));
}

describe('the guests\' id range', () => {
  it('spans 65536 ids from the base', () => {
    expect(isGuestId(BASE, BASE)).toBe(true);
    expect(isGuestId(BASE + 65535, BASE)).toBe(true);
    expect(isGuestId(BASE + 65536, BASE)).toBe(false);
    expect(isGuestId(BASE - 1, BASE)).toBe(false);
  });

  it('accepts a range no host user, group or subordinate range uses', () => {
    const files = idFiles({ passwd: 'root:x:0:0::/root:/bin/sh\ngitlab-runner:x:999:999::/home/gitlab-runner:/bin/sh\n', group: 'root:x:0:\n', subuid: 'alice:100000:65536\n' });
    expect(() => checkGuestIds(BASE, { uid: 999, gid: 999 }, files)).not.toThrow();
  });

  it('refuses a range a host user, group or subordinate range overlaps, naming the key and the culprit', () => {
    expect(() => checkGuestIds(BASE, null, idFiles({ passwd: `odd:x:${BASE + 5}:0::/:/bin/sh\n` }))).toThrow(`isolation.id_base = ${BASE} (host ids ${BASE}-${BASE + 65535}) overlaps user "odd" (${BASE + 5})`);
    expect(() => checkGuestIds(BASE, null, idFiles({ group: `odd:x:${BASE + 65535}:\n` }))).toThrow(/overlaps group "odd"/);
    expect(() => checkGuestIds(BASE, null, idFiles({ subgid: `bob:${BASE - 10}:20\n` }))).toThrow(/overlaps the ids .* "bob"/);
  });

  it('refuses a host user the guest cannot share the project directory with', () => {
    expect(() => checkGuestIds(BASE, { uid: 70000, gid: 70000 }, idFiles({}))).toThrow(/host_user 70000:70000 is beyond the guest's ids 0-65535/);
  });
});
