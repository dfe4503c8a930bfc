/**
 * The instance layer: per target branch and architecture, the package manager's update + upgrade
 * applied on top of a base OS version, kept by the backend that ran it (an overlay upper directory,
 * a copy-on-write disk) for jobs to start from.
 * An instance is versioned like the base: a refresh builds a new version and switches to it, so
 * running jobs keep theirs. Refreshes happen at most every `refresh_minutes`, under a lock.
 */
import { existsSync } from 'node:fs';
import { readdir, readFile, readlink } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { Writable } from 'node:stream';
import './zod-messages.js';
import * as z from 'zod/mini';
import type { ExecutorConfig } from './config.js';
import type { Backend, BaseImage, InstanceLayer } from './environment.js';
import { SystemFailure } from './failure.js';
import { makeDir, removeTree, switchSymlink, writeFileAtomic } from './fs-layers.js';
import type { Layout } from './layout.js';
import { withLock } from './lock.js';
import { detectPackageManager, GUEST_SOURCE_LIST, upgradeCommand } from './package-manager.js';
import { newVersionName, type BaseVersion } from './baseos/store.js';

export interface InstanceVersion extends InstanceLayer {
  baseVersion: string;
  /** Built in a user namespace from this host id (its files are the guests' ids), or null. */
  idBase: number | null;
  /** The backend that made the layer (and alone can use it). */
  backend: string;
}

const metaSchema = z.strictObject({
  version: z.string(),
  baseVersion: z.string(),
  created: z.string(),
  packageManager: z.string(),
  sourceList: z.string(),
  /** Instances built before user namespaces have none: their files are the host's ids. */
  idBase: z._default(z.nullable(z.number()), null),
  /** Instances built before the qemu backend are the containers'. */
  backend: z._default(z.string(), 'nspawn'),
});

export class InstanceStore {
  constructor(
    private readonly layout: Layout,
    private readonly config: ExecutorConfig,
    private readonly backend: Backend,
  ) {}

  /** The instance key of a branch on this executor's architecture. */
  key(branch: string): string {
    return `${branch}-${this.config.arch}`;
  }

  /** The source list of a branch; a missing one is a SystemFailure naming the file. */
  sourceList(branch: string): string {
    const file = join(this.config.source_lists, `${branch}.list`);
    if (!existsSync(file)) throw new SystemFailure(`no source list for target branch "${branch}": ${file} does not exist (add it, or set QUARTERS_TARGET_BRANCH / default_branch to a branch that has one)`);
    return file;
  }

  /** The current version of an instance, if any. */
  async current(branch: string): Promise<InstanceVersion | null> {
    const key = this.key(branch);
    try {
      const version = basename(await readlink(join(this.layout.instances, key, 'current')));
      const dir = join(this.layout.instances, key, 'versions', version);
      const meta = metaSchema.parse(JSON.parse(await readFile(join(dir, 'meta.json'), 'utf8')));
      return { key, version, dir, baseVersion: meta.baseVersion, idBase: meta.idBase, backend: meta.backend };
    } catch {
      return null;
    }
  }

  /**
   * The instance a new job of this branch uses: the current one when it sits on `base`, was built
   * by this backend with its ids and is younger than refresh_minutes, else a fresh one (built under the
   * instance's lock). `base` is the version's tree (for its package manager), `image` as the backend runs it.
   */
  async ensure(branch: string, base: BaseVersion, image: BaseImage, log: (line: string) => void): Promise<InstanceVersion> {
    const list = this.sourceList(branch);
    const fresh = (i: InstanceVersion | null): i is InstanceVersion => i !== null && i.baseVersion === base.version && i.backend === this.backend.name && i.idBase === this.backend.idBase && !this.isStale(i);
    const existing = await this.current(branch);
    if (fresh(existing)) return existing;
    await makeDir(join(this.layout.instances, this.key(branch)));
    return withLock(join(this.layout.instances, this.key(branch), 'lock'), async () => {
      // Another job may have refreshed it while we waited for the lock.
      const again = await this.current(branch);
      if (fresh(again)) return again;
      return this.build(branch, base, image, list, log);
    });
  }

  private isStale(instance: InstanceVersion): boolean {
    const created = Date.parse(instance.version.slice(0, 16).replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/, '$1-$2-$3T$4:$5:$6Z'));
    return !Number.isFinite(created) || Date.now() - created > this.config.instance.refresh_minutes * 60_000;
  }

  private async build(branch: string, base: BaseVersion, image: BaseImage, list: string, log: (line: string) => void): Promise<InstanceVersion> {
    const key = this.key(branch);
    const version = newVersionName();
    const versions = join(this.layout.instances, key, 'versions');
    const staging = join(versions, `.staging-${version}`);
    const manager = this.config.instance.package_manager === 'auto' ? detectPackageManager(base.root) : this.config.instance.package_manager;
    log(`quarters: refreshing instance ${key} on base OS ${base.version} (${manager}, ${this.backend.name})`);
    await makeDir(staging, 0o755);
    const environment = this.backend.environment({
      name: `qi-${key.replace(/[^A-Za-z0-9-]/g, '-').slice(0, 40)}-${process.pid}`,
      workspace: staging,
      base: image,
      instance: null,
      binds: [{ host: list, guest: GUEST_SOURCE_LIST, readOnly: true }],
      limits: { memoryMib: this.config.limits.memory_mib, cpus: this.config.limits.cpus },
      persistent: true,
    });
    try {
      await environment.setup();
      const output = new Writable({ write: (chunk: Buffer, _e, done) => { process.stderr.write(chunk); done(); } });
      const result = await environment.exec({ command: upgradeCommand(manager), network: true, stdout: output, stderr: output, env: { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' }, log });
      if (result.exitCode !== 0) throw new SystemFailure(`refreshing instance ${key} failed: ${result.exitCode === null ? result.detail : `the upgrade exited with ${result.exitCode}`}`);
      const dir = join(versions, version);
      // 0700, as base OS versions: the layer holds the distribution's setuid programs, which no local user should reach.
      await makeDir(dir, 0o700);
      await environment.keepLayer(dir);
      await writeFileAtomic(join(dir, 'meta.json'), JSON.stringify({ version, baseVersion: base.version, created: new Date().toISOString(), packageManager: manager, sourceList: list, idBase: this.backend.idBase, backend: this.backend.name }, null, 2));
      await switchSymlink(join(this.layout.instances, key, 'current'), join('versions', version));
      return { key, version, dir, baseVersion: base.version, idBase: this.backend.idBase, backend: this.backend.name };
    } finally {
      await environment.destroy();
      await removeTree(staging);
    }
  }

  /** Removes instance versions that are neither current nor in `inUse` (keys "KEY/VERSION"); returns what went. */
  async removeUnused(inUse: ReadonlySet<string>, only?: string): Promise<string[]> {
    const removed: string[] = [];
    const keys = await readdir(this.layout.instances).catch(() => [] as string[]);
    for (const key of keys) {
      if (only && key !== only) continue;
      const current = await readlink(join(this.layout.instances, key, 'current')).then(basename, () => null);
      const versions = join(this.layout.instances, key, 'versions');
      for (const version of await readdir(versions).catch(() => [] as string[])) {
        if (version === current || inUse.has(`${key}/${version}`)) continue;
        // A staging directory belongs to a refresh that holds the lock; leave it to that refresh.
        if (version.startsWith('.staging-') && existsSync(join(this.layout.instances, key, 'lock'))) continue;
        await removeTree(join(versions, version));
        removed.push(`${key}/${version}`);
      }
    }
    return removed;
  }

  /** Removes the current version of instances (all, or `only`) that no job uses, with their `current` link. */
  async removeCurrentIfUnused(inUse: ReadonlySet<string>, only?: string): Promise<string[]> {
    const removed: string[] = [];
    for (const key of await readdir(this.layout.instances).catch(() => [] as string[])) {
      if (only && key !== only) continue;
      const current = await readlink(join(this.layout.instances, key, 'current')).then(basename, () => null);
      if (!current || inUse.has(`${key}/${current}`)) continue;
      await removeTree(join(this.layout.instances, key, 'current'));
      await removeTree(join(this.layout.instances, key, 'versions', current));
      removed.push(`${key}/${current}`);
    }
    return removed;
  }
}
