/**
 * The GitLab double's repositories as real git repositories on disk, for a runner to clone: one
 * bare repository per project, each double commit a git commit with the same files, parents,
 * author and message (git's ids differ from the double's: the double hashes its own way).
 * A pipeline's commit is published as refs/pipelines/ID, the persistent ref GitLab keeps for
 * every pipeline and the runner fetches, and its branch as refs/heads/REF.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import type { DoublePipeline, DoubleProject, RepoCommit } from '../gitlab-double/index.js';

export interface MirroredRef {
  /** The bare repository (a path `git clone` takes). */
  repository: string;
  /** The ref the pipeline's commit is at. */
  ref: string;
  /** The git commit id of the pipeline's commit. */
  commit: string;
}

/** Bare repositories under `root`, readable (and owned, as git insists) by `owner` ("UID:GID"). */
export class GitMirror {
  /** Per project path: double commit id → git commit id. */
  private readonly commits = new Map<string, Map<string, string>>();
  /** Per project path: the last write, so writes to one repository never overlap. */
  private readonly queues = new Map<string, Promise<unknown>>();

  constructor(
    readonly root: string,
    private readonly owner: string,
  ) {}

  /** Writes the pipeline's commit (and its ancestors) into the project's repository; returns where to fetch it. */
  publishPipeline(project: DoubleProject, pipeline: DoublePipeline): Promise<MirroredRef> {
    const key = project.pathWithNamespace;
    const run = (this.queues.get(key) ?? Promise.resolve()).catch(() => undefined).then(() => this.publish(project, pipeline));
    this.queues.set(key, run);
    return run;
  }

  private async publish(project: DoubleProject, pipeline: DoublePipeline): Promise<MirroredRef> {
    const repository = join(this.root, `${project.pathWithNamespace}.git`);
    let known = this.commits.get(project.pathWithNamespace);
    if (!known) {
      await mkdir(repository, { recursive: true, mode: 0o755 });
      await git(repository, ['init', '--quiet', '--bare', `--initial-branch=${project.defaultBranch}`]);
      known = new Map();
      this.commits.set(project.pathWithNamespace, known);
    }
    const commit = await this.mirrorCommit(repository, project, pipeline.sha, known);
    const ref = `refs/pipelines/${pipeline.id}`;
    await git(repository, ['update-ref', ref, commit]);
    if (!pipeline.tag) await git(repository, ['update-ref', `refs/heads/${pipeline.ref}`, commit]);
    // Objects and refs were written by this process's user; the runner's clones run as the owner.
    await execa('chown', ['-R', this.owner, this.root]);
    return { repository, ref, commit };
  }

  /** The git id of a double commit, writing it (after its parents) when it is not in the repository yet. */
  private async mirrorCommit(repository: string, project: DoubleProject, sha: string, known: Map<string, string>): Promise<string> {
    const mirrored = known.get(sha);
    if (mirrored) return mirrored;
    const commit = project.repository.commits.get(sha);
    if (!commit) throw new Error(`git mirror: ${project.pathWithNamespace} has no commit ${sha} in the double`);
    const parents: string[] = [];
    for (const parent of commit.parentIds) parents.push(await this.mirrorCommit(repository, project, parent, known));
    const ref = `refs/double/${sha}`;
    await git(repository, ['fast-import', '--quiet'], fastImportStream(ref, commit, parents));
    const id = (await git(repository, ['rev-parse', ref])).trim();
    known.set(sha, id);
    return id;
  }
}

/** One commit as a git fast-import stream: the whole tree (deleteall, then every file), like the double's snapshot. */
function fastImportStream(ref: string, commit: RepoCommit, parents: string[]): Buffer {
  const chunks: Buffer[] = [];
  const line = (text: string) => chunks.push(Buffer.from(`${text}\n`));
  const data = (text: string) => {
    const bytes = Buffer.from(text, 'utf8');
    line(`data ${bytes.length}`);
    chunks.push(bytes, Buffer.from('\n'));
  };
  const when = `${Math.floor(Date.parse(commit.authoredAt) / 1000)} +0000`;
  line(`commit ${ref}`);
  line(`author ${commit.author.name} <${commit.author.email}> ${when}`);
  line(`committer ${commit.author.name} <${commit.author.email}> ${when}`);
  data(commit.message);
  if (parents[0]) line(`from ${parents[0]}`);
  for (const parent of parents.slice(1)) line(`merge ${parent}`);
  line('deleteall');
  for (const [path, content] of commit.files) {
    line(`M 100644 inline ${path}`);
    data(content);
  }
  line('');
  return Buffer.concat(chunks);
}

async function git(repository: string, args: string[], input?: Buffer): Promise<string> {
  const result = await execa('git', args, { cwd: repository, env: { GIT_DIR: repository }, ...(input ? { input } : {}), reject: false });
  if (result.exitCode !== 0) throw new Error(`git ${args.join(' ')} in ${repository} failed (exit ${result.exitCode}): ${result.stderr}`);
  return result.stdout;
}
