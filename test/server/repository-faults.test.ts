import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { chmodSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EXECUTOR_TOKEN, runningBuilds, startRig, type Rig } from './server-harness.js';
import { tempDir } from './http-harness.js';
import { pacmanPackage, upload } from './packages.js';
import { servedRepository } from './repository-checks.js';

const PACKAGER = 'Jane Packager <jane@example.org>';

/**
 * A `gzip` that compresses as it would on a full disk, failing part way through writing the new database
 * (the index update's last step); it decompresses as the real one (tar -z, reading the served db, runs it).
 */
function failingGzip(): string {
  const bin = tempDir('quarters-full-disk-');
  const script = join(bin, 'gzip');
  const real = execFileSync('sh', ['-c', 'command -v gzip'], { encoding: 'utf8' }).trim();
  writeFileSync(script, `#!/bin/sh\ncase " $* " in *" -d "*) exec ${real} "$@";; esac\nhead -c 100 >/dev/null\nprintf "\\037\\213"\necho "gzip: stdout: No space left on device" >&2\nexit 1\n`);
  chmodSync(script, 0o755);
  return bin;
}

describe('a failed index update', () => {
  let rig: Rig;
  let buildId: number;
  let jobToken: string;
  const path = process.env.PATH;

  beforeAll(async () => {
    rig = await startRig();
    ({ buildId, jobToken } = await runningBuilds(rig));
  });
  afterEach(() => {
    process.env.PATH = path;
  });
  afterAll(async () => rig?.close());

  const tokens = () => ({ executor: EXECUTOR_TOKEN, job: jobToken });
  const repo = '/repos/auto-zlib/latest/x86_64';
  const get = async (file: string) => Buffer.from(await (await fetch(`${rig.url}${repo}/${file}`)).arrayBuffer());

  /** The served repository is whole (repository-checks.ts) and not empty. */
  async function expectIndexMatchesFiles(): Promise<void> {
    expect((await servedRepository(rig.url, repo)).size).toBeGreaterThan(0);
  }

  it('leaves the served index and packages as they were, answers 507, and the next upload after the fault succeeds', async () => {
    const first = await pacmanPackage({ name: 'zlib', version: '1.1-1', packager: PACKAGER });
    expect((await upload(rig.url, buildId, first, tokens())).status).toBe(201);
    await expectIndexMatchesFiles();

    process.env.PATH = `${failingGzip()}:${path}`;
    const second = await pacmanPackage({ name: 'zlib', version: '1.1-1', packager: PACKAGER, depends: ['glibc'] });
    for (let attempt = 0; attempt < 2; attempt++) {
      const res = await upload(rig.url, buildId, second, tokens());
      expect(res.status).toBe(507);
      expect(await res.json()).toMatchObject({ error: 'insufficient_storage', detail: expect.stringContaining('out of space') });
      expect((await get(first.filename)).equals(readFileSync(first.path))).toBe(true);
      await expectIndexMatchesFiles();
    }
    expect((await (await fetch(`${rig.url}${repo}/quarters.db.tar.gz.lck`)).status)).toBe(404);
    // The pool keeps the file the repository and the artifact record name.
    expect(readdirSync(join(rig.config.data_dir, 'pool', String(buildId)))).toEqual([first.filename]);

    process.env.PATH = path;
    const res = await upload(rig.url, buildId, second, tokens());
    expect(res.status).toBe(201);
    expect((await get(second.filename)).equals(readFileSync(second.path))).toBe(true);
    await expectIndexMatchesFiles();
    const dir = join(rig.config.data_dir, 'repos', 'auto-zlib', '1');
    // The served generations (the one replaced is kept a while for readers still on it), nothing half-made from the failed attempts.
    expect(readdirSync(dir).filter((n) => n.includes('.gen-')).length).toBe(2);
    expect(readdirSync(join(dir, 'x86_64')).filter((n) => n.startsWith('.') || n.endsWith('.lck'))).toEqual([]);
  });

  it('leaves no hidden links behind when one file is uploaded several times at once', async () => {
    const file = await pacmanPackage({ name: 'zlib', version: '1.1-1', packager: PACKAGER });
    const answers = await Promise.all([1, 2, 3].map(() => upload(rig.url, buildId, file, tokens())));
    expect(answers.map((a) => a.status)).toEqual([201, 201, 201]);
    const served = join(rig.config.data_dir, 'repos', 'auto-zlib', '1', 'x86_64');
    expect(readdirSync(served).filter((n) => n.startsWith('.') || n.includes('.tmp-'))).toEqual([]);
    expect(readdirSync(join(rig.config.data_dir, 'pool', String(buildId))).filter((n) => n.startsWith('.'))).toEqual([]);
    await expectIndexMatchesFiles();
  });
});
