/**
 * The distribution's repositories (`[repositories.NAME]`), which releases promote build sets into. Each
 * is a directory holding one repository per architecture (`DIR/ARCH/`: a pacman database `NAME.db`, or an
 * apt flat repository). `DIR` is a symlink to a generation directory beside it (`.DIR.gen-*`) holding
 * every architecture: a release makes a new generation (packages hard-linked, indexes copied, the change
 * made, indexes updated and signed) and switches the symlink once, so a reader sees every architecture
 * as it was or as the release made it, never a mix, and a crash leaves the old one.
 */
import { execa } from 'execa';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import type { DistributionRepositoryConfig } from '../../core/server-config.js';
import { aptPackageRecords, pacmanDbRecords, type IndexedRecord } from '../../core/repository-index.js';
import { KeyedLock } from '../keyed-lock.js';
import type { Signer } from '../signing/signer.js';
import { applyChange, listRepository, removeInterruptedChangesIn, RepositoryError, swapGeneration, type IndexSpec, type RepositoryChange } from '../artifacts/repository.js';

/** One distribution repository, as configured. */
export interface DistributionRepository {
  name: string;
  directory: string;
  flavour: DistributionRepositoryConfig['flavour'];
  architectures: string[];
}

export class DistributionRepositories {
  private readonly lock = new KeyedLock();
  private readonly repositories: Map<string, DistributionRepository>;

  constructor(
    config: Record<string, DistributionRepositoryConfig>,
    buildArchitectures: readonly string[],
    readonly signer: Signer | null,
  ) {
    this.repositories = new Map(Object.entries(config).map(([name, r]) => [name, { name, directory: r.directory, flavour: r.flavour, architectures: r.architectures ?? [...buildArchitectures] }]));
  }

  /** Every configured repository, by name. */
  all(): DistributionRepository[] {
    return [...this.repositories.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  get(name: string): DistributionRepository | undefined {
    return this.repositories.get(name);
  }

  /** The directory of one architecture's repository (through the current generation). */
  archDir(repository: DistributionRepository, arch: string): string {
    return join(repository.directory, arch);
  }

  private index(repository: DistributionRepository): IndexSpec {
    return { kind: repository.flavour, name: repository.name };
  }

  /** Runs `work` with the repository's changes held off: a release reads the index and changes it under one lock. */
  locked<T>(repository: DistributionRepository, work: () => Promise<T>): Promise<T> {
    return this.lock.run(repository.name, work);
  }

  /** The packages one architecture's repository has now (none before its first release). */
  async read(repository: DistributionRepository, arch: string): Promise<IndexedRecord[]> {
    const dir = this.archDir(repository, arch);
    if (repository.flavour === 'apt') {
      const text = await readFile(join(dir, 'Packages'), 'utf8').catch((error: NodeJS.ErrnoException) => (error.code === 'ENOENT' ? null : Promise.reject(error)));
      return text === null ? [] : aptPackageRecords(text, join(dir, 'Packages'));
    }
    const db = join(dir, `${repository.name}.db.tar.gz`);
    if (!existsSync(db)) return [];
    const scratch = await mkdtemp(join(tmpdir(), 'quarters-db-'));
    try {
      const result = await execa('tar', ['-xzf', db, '-C', scratch], { reject: false, env: { LC_ALL: 'C' } });
      if (result.failed) throw new RepositoryError(`cannot read ${db}: ${String(result.stderr).trim()}`);
      const entries = readdirSync(scratch).filter((entry) => existsSync(join(scratch, entry, 'desc'))).map((entry) => ({ path: `${entry}/desc`, text: readFileSync(join(scratch, entry, 'desc'), 'utf8') }));
      return pacmanDbRecords(entries, db);
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  }

  /**
   * Makes the changes (per architecture) in a new generation of the repository and switches to it; the
   * caller holds the lock (locked()). All or nothing: a failing index tool or key leaves it as it was.
   */
  async publish(repository: DistributionRepository, changes: ReadonlyMap<string, RepositoryChange>): Promise<void> {
    await this.signer?.ensureUsable();
    const index = this.index(repository);
    await swapGeneration(repository.directory, async (next, current) => {
      for (const arch of repository.architectures) {
        await mkdir(join(next, arch));
        const was = current && existsSync(join(current, arch)) ? join(current, arch) : null;
        await applyChange(was, join(next, arch), index, this.signer, changes.get(arch) ?? { add: [] });
      }
    });
  }

  /** The files of one architecture's repository, or null when it has none yet. */
  list(repository: DistributionRepository, arch: string): Promise<{ name: string; size: number }[] | null> {
    return listRepository(this.archDir(repository, arch));
  }

  /** Removes what releases a crash interrupted left beside the repositories' directories; only at start-up. */
  removeInterruptedChanges(): number {
    let removed = 0;
    for (const repository of this.repositories.values()) removed += removeInterruptedChangesIn(dirname(repository.directory), basename(repository.directory));
    return removed;
  }
}
