/** A project's git repository as the double holds it: commits with full file snapshots, branches, tags. */
import { createHash } from 'node:crypto';

export interface CommitAuthor {
  name: string;
  email: string;
}

export interface RepoCommit {
  id: string;
  parentIds: string[];
  message: string;
  author: CommitAuthor;
  /** ISO 8601. */
  authoredAt: string;
  /** The whole tree at this commit: path → content. */
  files: ReadonlyMap<string, string>;
}

/** One commit a test pushes: files to write (string) or delete (null). */
export interface CommitInput {
  files: Record<string, string | null>;
  message?: string;
  author?: CommitAuthor;
}

export interface TreeEntry {
  id: string;
  name: string;
  type: 'tree' | 'blob';
  path: string;
  mode: string;
}

export interface FileChange {
  oldPath: string;
  newPath: string;
  newFile: boolean;
  deletedFile: boolean;
  renamedFile: boolean;
  diff: string;
}

/** The sha GitLab uses for "no commit" (a new branch's `before`). */
export const NULL_SHA = '0000000000000000000000000000000000000000';
/** The author of commits a test does not attribute. */
export const DEFAULT_AUTHOR: CommitAuthor = { name: 'Test Packager', email: 'packager@example.com' };

/** The blob id git would give this content. */
export function blobId(content: string): string {
  const bytes = Buffer.from(content, 'utf8');
  return createHash('sha1').update(`blob ${bytes.length}\0`).update(bytes).digest('hex');
}

/** A git repository in memory: linear or branching history, addressed by branch, tag or sha. */
export class Repository {
  readonly commits = new Map<string, RepoCommit>();
  readonly branches = new Map<string, string>();
  readonly tags = new Map<string, string>();
  /** Makes every commit's id unique, even for identical content and message. */
  private commitCount = 0;

  /** Adds a commit on top of `branch` (created from `from` when new) and moves the branch. */
  commit(branch: string, input: CommitInput, from?: string): RepoCommit {
    const parentId = this.branches.get(branch) ?? (from === undefined ? undefined : this.resolve(from));
    if (from !== undefined && !this.branches.has(branch) && parentId === undefined) throw new Error(`double: unknown ref ${from}`);
    const parent = parentId === undefined ? undefined : this.commits.get(parentId);
    const files = new Map(parent?.files ?? []);
    for (const [path, content] of Object.entries(input.files)) {
      if (content === null) files.delete(path);
      else files.set(path, content);
    }
    const message = input.message ?? `Update ${Object.keys(input.files).join(', ')}`;
    this.commitCount += 1;
    const id = createHash('sha1').update(`${parentId ?? ''}\0${message}\0${this.commitCount}\0${JSON.stringify([...files])}`).digest('hex');
    const commit: RepoCommit = {
      id,
      parentIds: parentId === undefined ? [] : [parentId],
      message,
      author: input.author ?? DEFAULT_AUTHOR,
      authoredAt: new Date().toISOString(),
      files,
    };
    this.commits.set(id, commit);
    this.branches.set(branch, id);
    return commit;
  }

  /**
   * A merge commit of `source` into `branch` (parents: the branch's head, then the source's), as GitLab's
   * "Merge commit" method makes; the double merges only a source that contains the branch's head (no
   * conflicts to resolve), so the merge has the source's files. Moves the branch.
   */
  mergeCommit(branch: string, source: string, input: Pick<CommitInput, 'message' | 'author'> = {}): RepoCommit {
    const targetId = this.branches.get(branch);
    const sourceId = this.resolve(source);
    if (targetId === undefined || sourceId === undefined) throw new Error(`double: cannot merge ${source} into ${branch}: unknown ref`);
    if (!this.ancestors(sourceId).includes(targetId)) throw new Error(`double: ${source} does not contain ${branch}'s head; the double merges only without conflicts`);
    const message = input.message ?? `Merge branch '${source}' into '${branch}'`;
    this.commitCount += 1;
    const files = this.commits.get(sourceId)!.files;
    const id = createHash('sha1').update(`${targetId}\0${sourceId}\0${message}\0${this.commitCount}`).digest('hex');
    const commit: RepoCommit = { id, parentIds: [targetId, sourceId], message, author: input.author ?? DEFAULT_AUTHOR, authoredAt: new Date().toISOString(), files: new Map(files) };
    this.commits.set(id, commit);
    this.branches.set(branch, id);
    return commit;
  }

  /** Points `branch` at the commit `ref` names, wherever it is (`git push --force` of that commit). */
  resetBranch(branch: string, ref: string): void {
    const id = this.resolve(ref);
    if (id === undefined) throw new Error(`double: unknown ref ${ref}`);
    this.branches.set(branch, id);
  }

  /** The sha a branch, tag, full sha or unambiguous sha prefix (≥ 7 characters) names; undefined when none. */
  resolve(ref: string): string | undefined {
    const named = this.branches.get(ref) ?? this.tags.get(ref) ?? this.branches.get(ref.replace(/^refs\/heads\//, ''));
    if (named !== undefined) return named;
    if (this.commits.has(ref)) return ref;
    if (/^[0-9a-f]{7,39}$/.test(ref)) {
      const matches = [...this.commits.keys()].filter((id) => id.startsWith(ref));
      if (matches.length === 1) return matches[0];
    }
    return undefined;
  }

  commitAt(ref: string): RepoCommit | undefined {
    const id = this.resolve(ref);
    return id === undefined ? undefined : this.commits.get(id);
  }

  /** Every ancestor of `id`, itself included, newest first (first-parent order is enough for the double). */
  ancestors(id: string): string[] {
    const out: string[] = [];
    const seen = new Set<string>();
    const queue = [id];
    while (queue.length > 0) {
      const next = queue.shift()!;
      if (seen.has(next)) continue;
      seen.add(next);
      out.push(next);
      queue.push(...(this.commits.get(next)?.parentIds ?? []));
    }
    return out;
  }

  /** The tree entries under `path` at a commit: direct children, or all descendants when recursive. Undefined if `path` is no directory. */
  tree(commit: RepoCommit, path: string, recursive: boolean): TreeEntry[] | undefined {
    const prefix = path === '' ? '' : `${path.replace(/\/+$/, '')}/`;
    const dirs = new Map<string, TreeEntry>();
    const blobs: TreeEntry[] = [];
    for (const [file, content] of commit.files) {
      if (!file.startsWith(prefix)) continue;
      const rest = file.slice(prefix.length).split('/');
      const depth = recursive ? rest.length : 1;
      for (let i = 1; i < Math.min(depth + 1, rest.length); i += 1) {
        const dirPath = prefix + rest.slice(0, i).join('/');
        if (!dirs.has(dirPath)) {
          dirs.set(dirPath, { id: createHash('sha1').update(`tree ${commit.id} ${dirPath}`).digest('hex'), name: rest[i - 1]!, type: 'tree', path: dirPath, mode: '040000' });
        }
      }
      if (recursive || rest.length === 1) blobs.push({ id: blobId(content), name: rest[rest.length - 1]!, type: 'blob', path: file, mode: '100644' });
    }
    if (prefix !== '' && dirs.size === 0 && blobs.length === 0) return undefined;
    const byPath = (a: TreeEntry, b: TreeEntry) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0);
    return [...[...dirs.values()].sort(byPath), ...blobs.sort(byPath)];
  }

  /** The commits in `to` not in `from`, oldest first, and the file changes from their merge base to `to`. */
  compare(from: RepoCommit, to: RepoCommit): { commits: RepoCommit[]; changes: FileChange[] } {
    const fromAncestors = new Set(this.ancestors(from.id));
    const toAncestors = this.ancestors(to.id);
    const commits = toAncestors.filter((id) => !fromAncestors.has(id)).map((id) => this.commits.get(id)!).reverse();
    const baseId = toAncestors.find((id) => fromAncestors.has(id));
    const base = baseId === undefined ? new Map<string, string>() : this.commits.get(baseId)!.files;
    return { commits, changes: fileChanges(base, to.files) };
  }

  /** The changes between two snapshots (`straight=true` compare: no merge base). */
  diffSnapshots(before: ReadonlyMap<string, string>, after: ReadonlyMap<string, string>): FileChange[] {
    return fileChanges(before, after);
  }
}

/** The changes between two snapshots; a deleted and an added file with identical content are a rename, as git's rename detection would find. */
function fileChanges(before: ReadonlyMap<string, string>, after: ReadonlyMap<string, string>): FileChange[] {
  const added = [...after.keys()].filter((p) => !before.has(p));
  const deleted = [...before.keys()].filter((p) => !after.has(p));
  const changes: FileChange[] = [];
  for (const [path, content] of after) {
    const old = before.get(path);
    if (old !== undefined && old !== content) changes.push(change(path, path, old, content));
  }
  const unmatchedDeleted = new Set(deleted);
  for (const path of added) {
    const content = after.get(path)!;
    const source = [...unmatchedDeleted].find((d) => before.get(d) === content);
    if (source !== undefined) {
      unmatchedDeleted.delete(source);
      changes.push({ oldPath: source, newPath: path, newFile: false, deletedFile: false, renamedFile: true, diff: '' });
    } else {
      changes.push({ ...change(path, path, '', content), newFile: true });
    }
  }
  for (const path of unmatchedDeleted) changes.push({ ...change(path, path, before.get(path)!, ''), deletedFile: true });
  return changes.sort((a, b) => (a.newPath < b.newPath ? -1 : a.newPath > b.newPath ? 1 : 0));
}

function change(oldPath: string, newPath: string, oldText: string, newText: string): FileChange {
  const lines = (text: string) => (text === '' ? [] : text.replace(/\n$/, '').split('\n'));
  const removed = lines(oldText);
  const added = lines(newText);
  const hunk = `@@ -${removed.length === 0 ? 0 : 1},${removed.length} +${added.length === 0 ? 0 : 1},${added.length} @@\n`;
  const diff = hunk + [...removed.map((l) => `-${l}`), ...added.map((l) => `+${l}`)].join('\n') + '\n';
  return { oldPath, newPath, newFile: false, deletedFile: false, renamedFile: false, diff };
}
