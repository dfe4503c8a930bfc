/** Uploads of real package files (test/support/packages.ts makes them), and reading the repository they land in. */
import { execa } from 'execa';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from './http-harness.js';
import { sha256Of } from '../support/packages.js';

export { debPackage, pacmanPackage, sha256Of } from '../support/packages.js';

/** PUTs a file as the executor does. */
export function upload(server: string, buildId: number, file: { path: string; filename: string }, tokens: { executor: string; job: string }, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${server}/api/v1/builds/${buildId}/artifacts/${encodeURIComponent(file.filename)}`, {
    method: 'PUT',
    body: readFileSync(file.path),
    headers: { Authorization: `Bearer ${tokens.executor}`, 'X-Job-Token': tokens.job, 'X-Checksum-Sha256': sha256Of(file.path), 'Content-Type': 'application/octet-stream', ...headers },
  });
}

/** The entries (NAME-VERSION) of a pacman database file. */
export async function pacmanDbEntries(db: Buffer): Promise<string[]> {
  const dir = tempDir('quarters-db-');
  const path = join(dir, 'quarters.db.tar.gz');
  writeFileSync(path, db);
  const { stdout } = await execa('tar', ['-tzf', path]);
  return stdout.split('\n').filter((l) => /^[^/]+\/$/.test(l)).map((l) => l.slice(0, -1)).sort();
}

/** Each package a pacman database names: its %FILENAME% and %SHA256SUM%. */
export async function pacmanDbFiles(db: Buffer): Promise<{ filename: string; sha256: string }[]> {
  const dir = tempDir('quarters-db-');
  const path = join(dir, 'quarters.db.tar.gz');
  writeFileSync(path, db);
  await execa('tar', ['-xzf', path, '-C', dir]);
  const entries = (await pacmanDbEntries(db)).map((entry) => {
    const desc = readFileSync(join(dir, entry, 'desc'), 'utf8');
    const field = (name: string) => new RegExp(`%${name}%\\n([^\\n]+)`).exec(desc)?.[1] ?? '';
    return { filename: field('FILENAME'), sha256: field('SHA256SUM') };
  });
  return entries;
}
