/**
 * kill -9 in the middle of releases: a child process (the built dist/) publishes two versions of a
 * set of packages into a two-architecture distribution repository, one after the other, and is killed
 * at seeded moments. After every kill the repository is whole: the directory's symlink names one
 * generation, and in it every architecture's database names exactly the package files beside it, all of
 * one release (never some of the old and some of the new, nor one architecture of each). A start-up's
 * clean-up then removes what the killed release left. RELEASE_CRASH_SEED replays a schedule.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { execa, type ResultPromise } from 'execa';
import { readdirSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pacmanPackage } from './packages.js';
import { tempDir } from './http-harness.js';
import { seededRandom } from '../support/seeded-random.js';
import { DistributionRepositories } from '../../src/server/releases/distribution.js';

const SEED = Number(process.env.RELEASE_CRASH_SEED ?? 20261203);
const ROUNDS = Number(process.env.RELEASE_CRASH_ROUNDS ?? 6);
const PACKAGES = 12;
const ARCHS = ['x86_64', 'aarch64'];
const DISTRIBUTION = fileURLToPath(new URL('../../dist/server/releases/distribution.js', import.meta.url));

/** The child: releases version 1, then 2, then 1 ... of every package, printing "published N" after each. */
const CHILD = `
import { DistributionRepositories } from ${JSON.stringify(DISTRIBUTION)};
const [directory, pool, count] = process.argv.slice(2);
const archs = ${JSON.stringify(ARCHS)};
const dist = new DistributionRepositories({ core: { directory, flavour: 'pacman', architectures: archs } }, archs, null);
const core = dist.get('core');
const file = (i, v) => \`p\${i}-\${v}.0-1-x86_64.pkg.tar.zst\`;
for (let n = 0; ; n++) {
  const v = (n % 2) + 1, old = 3 - v;
  const changes = new Map(archs.map((arch) => [arch, {
    add: Array.from({ length: Number(count) }, (_, i) => ({ poolPath: \`\${pool}/\${file(i, v)}\`, filename: file(i, v) })),
    remove: n === 0 ? [] : Array.from({ length: Number(count) }, (_, i) => ({ filename: file(i, old), name: \`p\${i}\` })),
  }]));
  await dist.locked(core, () => dist.publish(core, changes));
  process.stdout.write(\`published \${n + 1}\\n\`);
}
`;

/** NAME-VERSION of each entry of a pacman database file. */
async function dbEntries(db: string): Promise<string[]> {
  const { stdout } = await execa('tar', ['-tzf', db]);
  return stdout.split('\n').filter((l) => /^[^/]+\/$/.test(l)).map((l) => l.slice(0, -1)).sort();
}

/** Checks the served generation; returns the version every package of it has. */
async function wholeRepository(dist: string): Promise<number | null> {
  let generation: string;
  try {
    generation = readlinkSync(join(dist, 'core'));
  } catch {
    return null;
  }
  const versions = new Set<number>();
  for (const arch of ARCHS) {
    const dir = join(dist, generation, arch);
    const entries = await dbEntries(join(dir, 'core.db.tar.gz'));
    const files = readdirSync(dir).filter((f) => f.endsWith('.pkg.tar.zst')).map((f) => f.replace(/-x86_64\.pkg\.tar\.zst$/, '')).sort();
    expect(files, `${arch}: the package files against the database`).toEqual(entries);
    expect(entries).toHaveLength(PACKAGES);
    for (const e of entries) versions.add(Number(/-(\d)\.0-1$/.exec(e)![1]));
  }
  expect([...versions], 'every package of both architectures from one release').toHaveLength(1);
  return [...versions][0]!;
}

describe('kill -9 during releases', () => {
  const children: ResultPromise[] = [];
  afterAll(() => children.forEach((c) => c.kill('SIGKILL')));

  it(`leaves the old repository or the new one, whole, and nothing after the start-up's clean-up (seed ${SEED})`, async () => {
    const pool = tempDir('quarters-release-pool-');
    for (let i = 0; i < PACKAGES; i++) for (const v of [1, 2]) await pacmanPackage({ name: `p${i}`, version: `${v}.0-1` }).then((p) => execa('cp', [p.path, pool]));
    const work = tempDir('quarters-release-crash-');
    const script = join(work, 'child.mjs');
    writeFileSync(script, CHILD);
    const dist = join(work, 'dist');
    const random = seededRandom(SEED);
    let interrupted = 0;
    for (let round = 1; round <= ROUNDS; round++) {
      const child = execa('node', [script, join(dist, 'core'), pool, String(PACKAGES)], { reject: false, buffer: false });
      children.push(child);
      // Killed after its first release, at a seeded moment of one of the next.
      await new Promise<void>((resolve) => child.stdout!.on('data', (chunk: Buffer) => chunk.toString().includes('published') && resolve()));
      await new Promise((done) => setTimeout(done, 20 + random() * 1500));
      child.kill('SIGKILL');
      await child;
      expect(await wholeRepository(dist), `round ${round}: a release was published before the kill`).not.toBeNull();
      const cleaned = new DistributionRepositories({ core: { directory: join(dist, 'core'), flavour: 'pacman', architectures: ARCHS } }, ARCHS, null).removeInterruptedChanges();
      const served = readlinkSync(join(dist, 'core'));
      const createdAt = (name: string) => Number(name.slice('.core.gen-'.length).split('-')[0]);
      const leftovers = readdirSync(dist).filter((n) => n.startsWith('.core.link-') || (n.startsWith('.core.gen-') && createdAt(n) > createdAt(served)));
      expect(leftovers, `round ${round}: ${cleaned} removed (seed ${SEED})`).toEqual([]);
      if (cleaned > 0) interrupted++;
      expect(await wholeRepository(dist)).not.toBeNull();
    }
    // The releases run back to back, so kills land mid-release: their half-made generations were what the clean-up removed.
    expect(interrupted, `kills that interrupted a release (seed ${SEED})`).toBeGreaterThan(0);
  }, 300_000);
});
