import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveHostUser } from './host-user.js';

describe('resolveHostUser', () => {
  it('reads a user name from passwd or takes UID:GID, and never root', () => {
    const dir = mkdtempSync(join(tmpdir(), 'quarters-passwd-'));
    const passwd = join(dir, 'passwd');
    writeFileSync(passwd, 'root:x:0:0::/root:/bin/sh\ngitlab-runner:x:999:998::/home/gitlab-runner:/bin/bash\n');
    expect(resolveHostUser('gitlab-runner', passwd)).toEqual({ uid: 999, gid: 998 });
    expect(resolveHostUser('1234:5678', passwd)).toEqual({ uid: 1234, gid: 5678 });
    expect(() => resolveHostUser('root', passwd)).toThrow(/is root/);
    expect(() => resolveHostUser('nosuchuser', passwd)).toThrow(/not a user of this host/);
  });
});
