/** Checks of a build set's repository (pacman or apt): as served over HTTP, and as left on disk after a crash. */
import { createHash } from 'node:crypto';
import { readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { pacmanDbFiles } from './packages.js';

/** Names no repository listing may show: temporary, partial, lock and backup files, hidden ones. */
const SCRATCH = /\.part$|\.tmp|\.lck$|\.old$|^\.|\.incoming-/;

const sha256 = (data: ArrayBuffer): string => createHash('sha256').update(Buffer.from(data)).digest('hex');

/** The Packages index of an apt flat repository as file name → sha256 (`Filename: ./NAME`, `SHA256:`). */
function aptPackages(text: string): { filename: string; sha256: string }[] {
  return text.split(/\n\n+/).filter((stanza) => stanza.trim()).map((stanza) => {
    const filename = /^Filename: (?:\.\/)?(\S+)$/m.exec(stanza)?.[1];
    const sha = /^SHA256: ([0-9a-f]{64})$/m.exec(stanza)?.[1];
    expect(filename && sha, `a Packages stanza without Filename or SHA256:\n${stanza}`).toBeTruthy();
    return { filename: filename!, sha256: sha! };
  });
}

/**
 * The served repository at `repo` (`/repos/NS/ITERATION/ARCH`), checked whole: the listing has no scratch
 * file; its index (repo-add's db, or apt-ftparchive's Packages) is readable; every package it names is
 * served with the index's checksum; every package served is named by it. Returns the indexed packages,
 * file name → sha256 (none before the first upload).
 */
export async function servedRepository(url: string, repo: string): Promise<Map<string, string>> {
  const listing = await fetch(`${url}${repo}/`);
  expect(listing.status).toBe(200);
  const names = ((await listing.json()) as { files: { name: string }[] }).files.map((f) => f.name);
  expect(names.filter((n) => SCRATCH.test(n)), `scratch files listed in ${repo}`).toEqual([]);
  const apt = names.includes('Packages') || names.some((n) => n.endsWith('.deb'));
  const packages = names.filter((n) => n.endsWith(apt ? '.deb' : '.pkg.tar.zst')).sort();
  const indexName = apt ? 'Packages' : 'quarters.db';
  if (!names.includes(indexName)) {
    expect(packages, `${repo} serves packages without ${indexName}`).toEqual([]);
    return new Map();
  }
  const index = await fetch(`${url}${repo}/${indexName}`);
  expect(index.status).toBe(200);
  const entries = apt ? aptPackages(await index.text()) : await pacmanDbFiles(Buffer.from(await index.arrayBuffer()));
  for (const entry of entries) {
    const file = await fetch(`${url}${repo}/${entry.filename}`);
    expect(file.status, `${entry.filename}, named by ${repo}/${indexName}`).toBe(200);
    expect(sha256(await file.arrayBuffer()), `${entry.filename} as served, against the index's checksum`).toBe(entry.sha256);
  }
  expect(entries.map((e) => e.filename).sort(), `packages served by ${repo}, against its index`).toEqual(packages);
  return new Map(entries.map((e) => [e.filename, e.sha256]));
}

const names = (dir: string): string[] => {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
};

/**
 * What interrupted uploads and repository changes left in a data directory: files in `tmp/`, hidden
 * files in the pool, half-made generations (newer than the one served) and pointer symlinks beside a
 * repository, and scratch files in the served generation. Empty after a start-up.
 */
export function leftovers(dataDir: string): string[] {
  const found = names(join(dataDir, 'tmp')).map((n) => `tmp/${n}`);
  for (const build of names(join(dataDir, 'pool'))) found.push(...names(join(dataDir, 'pool', build)).filter((n) => n.startsWith('.')).map((n) => `pool/${build}/${n}`));
  for (const ns of names(join(dataDir, 'repos'))) {
    for (const iteration of names(join(dataDir, 'repos', ns))) {
      const parent = join(dataDir, 'repos', ns, iteration);
      const entries = names(parent);
      for (const arch of entries.filter((n) => !n.startsWith('.'))) {
        const current = readlinkSync(join(parent, arch));
        const createdAt = (name: string) => Number(name.slice(`.${arch}.gen-`.length).split('-')[0]);
        const where = `repos/${ns}/${iteration}`;
        found.push(...entries.filter((n) => n.startsWith(`.${arch}.link-`)).map((n) => `${where}/${n}`));
        found.push(...entries.filter((n) => n.startsWith(`.${arch}.gen-`) && n !== current && createdAt(n) >= createdAt(current)).map((n) => `${where}/${n} (never served)`));
        found.push(...names(join(parent, current)).filter((n) => SCRATCH.test(n)).map((n) => `${where}/${current}/${n}`));
      }
    }
  }
  return found;
}
