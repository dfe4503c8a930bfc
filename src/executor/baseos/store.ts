/**
 * The versioned, read-only base OS trees: work_dir/baseos/versions/VERSION/root, and `current`
 * pointing at one of them. A new version is built in a staging directory and switched to with
 * one rename, so jobs that started on the old version keep it until they finish.
 */
import { existsSync } from 'node:fs';
import { readdir, readFile, readlink, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import '../zod-messages.js';
import * as z from 'zod/mini';
import { makeDir, removeTree, switchSymlink, writeFileAtomic } from '../fs-layers.js';
import type { Layout } from '../layout.js';
import { withLockUnlessSettled } from '../lock.js';
import { identify, isAlive } from '../process-identity.js';
import { processIdentitySchema } from '../process-identity-schema.js';
import { copyShifted } from './shift.js';

export interface BaseVersion {
  version: string;
  /** The tree: the lowest overlay layer of every job. */
  root: string;
}

const metaSchema = z.strictObject({
  version: z.string(),
  created: z.string(),
  source: z.string(),
  parent: z.nullable(z.string()),
});
export type BaseMeta = z.infer<typeof metaSchema>;

const stagingOwnerSchema = processIdentitySchema;

/** A problem with a base OS (none loaded, not an OS tree); the message says what to do. */
export class BaseOsError extends Error {
  override name = 'BaseOsError';
}

/** A sortable, unique version name: UTC time plus a few random characters. */
export function newVersionName(now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  return `${stamp}-${Math.random().toString(36).slice(2, 6)}`;
}

/** True when `root` looks like an OS tree systemd-nspawn will boot a command in. */
export function looksLikeOsTree(root: string): boolean {
  return (existsSync(join(root, 'usr/lib/os-release')) || existsSync(join(root, 'etc/os-release'))) && existsSync(join(root, 'bin/sh'));
}

export class BaseOsStore {
  constructor(private readonly layout: Layout) {}

  private get versionsDir(): string {
    return join(this.layout.baseos, 'versions');
  }

  private get currentLink(): string {
    return join(this.layout.baseos, 'current');
  }

  /** The version new jobs start on, or null when none was loaded. */
  async current(): Promise<BaseVersion | null> {
    try {
      const version = basename(await readlink(this.currentLink));
      return { version, root: join(this.versionsDir, version, 'root') };
    } catch {
      return null;
    }
  }

  /** The current version, or a BaseOsError telling the operator how to load one. */
  async require(): Promise<BaseVersion> {
    const current = await this.current();
    if (!current) throw new BaseOsError(`no base OS loaded under ${this.layout.baseos}: run "quarters-executor baseos load --tarball FILE" or "--debootstrap SUITE --mirror URL"`);
    return current;
  }

  /** All loaded versions, oldest first. */
  async versions(): Promise<string[]> {
    try {
      return (await readdir(this.versionsDir)).filter((name) => !name.startsWith('.')).sort();
    } catch {
      return [];
    }
  }

  async meta(version: string): Promise<BaseMeta | null> {
    try {
      return metaSchema.parse(JSON.parse(await readFile(join(this.versionsDir, version, 'meta.json'), 'utf8')));
    } catch {
      return null;
    }
  }

  /**
   * Builds a new version with `fill(staging)` (which leaves an OS tree in `staging.root`) and makes it
   * current. A failure leaves the current version as it was and removes the staging directory.
   */
  async add(source: string, fill: (staging: { dir: string; root: string }) => Promise<void>): Promise<BaseVersion> {
    const parent = (await this.current())?.version ?? null;
    const version = newVersionName();
    await makeDir(this.versionsDir);
    const dir = join(this.versionsDir, `.staging-${version}`);
    await makeDir(dir, 0o700);
    await writeFileAtomic(join(dir, 'owner'), JSON.stringify(identify(process.pid)));
    const root = join(dir, 'root');
    await makeDir(root, 0o755);
    try {
      await fill({ dir, root });
      if (!looksLikeOsTree(root)) throw new BaseOsError(`${source} did not produce an OS tree (no usr/lib/os-release or etc/os-release, or no bin/sh)`);
      const meta: BaseMeta = { version, created: new Date().toISOString(), source, parent };
      await writeFileAtomic(join(dir, 'meta.json'), JSON.stringify(meta, null, 2));
      await rm(join(dir, 'owner'), { force: true });
      // Everything but the finished root (e.g. an update's temporary layer) goes before the switch.
      for (const entry of await readdir(dir)) if (entry !== 'root' && entry !== 'meta.json') await removeTree(join(dir, entry));
      await rename(dir, join(this.versionsDir, version));
      await switchSymlink(this.currentLink, join('versions', version));
    } catch (error) {
      await removeTree(dir);
      throw error;
    }
    return { version, root: join(this.versionsDir, version, 'root') };
  }

  /**
   * The version as guests in a user namespace from `idBase` see it: a copy of its tree owned by the
   * guests' ids (baseos/shift.ts), made on first use under a lock and renamed into place whole, kept
   * beside the tree until the version goes. The first job on a version waits for the copy.
   */
  async forGuestIds(base: BaseVersion, idBase: number): Promise<BaseVersion> {
    const dir = dirname(base.root);
    const shifted: BaseVersion = { version: base.version, root: join(dir, `root-ids-${idBase}`) };
    const made = async (): Promise<BaseVersion | null> => (existsSync(shifted.root) ? shifted : null);
    return withLockUnlessSettled(join(dir, `root-ids-${idBase}.lock`), made, async () => {
      // A copy a killed process left half done is never used: only the rename below makes one visible.
      const staging = join(dir, `.root-ids-${idBase}.staging`);
      await removeTree(staging);
      await makeDir(join(staging, 'root'), 0o755);
      try {
        await copyShifted(base.root, join(staging, 'root'), { into: idBase }, staging);
        await rename(join(staging, 'root'), shifted.root);
      } catch (error) {
        throw new BaseOsError(`base OS ${base.version} for guests in a user namespace (isolation.id_base = ${idBase}): ${(error as Error).message}`);
      } finally {
        await removeTree(staging);
      }
      return shifted;
    });
  }

  /** Removes versions that are neither current nor in `inUse`, and staging left by dead processes; returns what went. */
  async removeUnused(inUse: ReadonlySet<string>): Promise<string[]> {
    const current = (await this.current())?.version;
    const removed: string[] = [];
    let entries: string[] = [];
    try {
      entries = await readdir(this.versionsDir);
    } catch {
      return removed;
    }
    for (const entry of entries) {
      const path = join(this.versionsDir, entry);
      if (entry.startsWith('.staging-')) {
        const owner = await readFile(join(path, 'owner'), 'utf8').then((t) => stagingOwnerSchema.safeParse(JSON.parse(t)), () => null);
        const age = Date.now() - (await stat(path)).mtimeMs;
        if (owner?.success ? !isAlive(owner.data) : age > 60_000) {
          await removeTree(path);
          removed.push(entry);
        }
        continue;
      }
      if (entry === current || inUse.has(entry)) continue;
      await removeTree(path);
      removed.push(entry);
    }
    return removed;
  }
}
