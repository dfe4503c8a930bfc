/**
 * How far a build set has got, per architecture, and how that reads where packagers look in GitLab:
 * one commit status per architecture and the merge request's note. Pure: the server decides when
 * to send them.
 */
import { IN_FLIGHT, labelOf, type BuildState } from '../build-state.js';
import type { Flavour } from '../recipe/model.js';

/** What the progress report needs of a build of the latest iteration. */
export interface ProgressBuild {
  pkgbase: string;
  arch: string;
  pass: number;
  state: BuildState;
  reason: string | null;
  /** Carried over from an earlier iteration. */
  reused: boolean;
  pipelineUrl: string | null;
}

/** The builds of one architecture by what they are doing. Carried-over built builds are not counted: nothing is done for them. */
export interface ArchProgress {
  arch: string;
  /** Builds this iteration makes. */
  rebuilds: number;
  built: number;
  /** Dispatched or building. */
  building: number;
  /** Blocked or ready. */
  waiting: number;
  failed: number;
  dependencyFailed: number;
  cancelled: number;
}

/** A commit status state (GitLab's names), for one architecture or the whole set. */
export type ProgressState = 'pending' | 'running' | 'success' | 'failed' | 'canceled';

/** The commit status context of an architecture. */
export const statusName = (arch: string): string => `quarters/${arch}`;

/** Counts the builds of each architecture, sorted by architecture. */
export function archProgress(builds: readonly ProgressBuild[]): ArchProgress[] {
  const byArch = new Map<string, ArchProgress>();
  for (const b of builds) {
    const p = byArch.get(b.arch) ?? { arch: b.arch, rebuilds: 0, built: 0, building: 0, waiting: 0, failed: 0, dependencyFailed: 0, cancelled: 0 };
    byArch.set(b.arch, p);
    if (b.reused && b.state === 'built') continue;
    p.rebuilds += 1;
    if (b.state === 'built') p.built += 1;
    else if (IN_FLIGHT.includes(b.state)) p.building += 1;
    else if (b.state === 'blocked' || b.state === 'ready') p.waiting += 1;
    else if (b.state === 'failed') p.failed += 1;
    else if (b.state === 'dependency-failed') p.dependencyFailed += 1;
    else if (b.state === 'cancelled' || b.state === 'superseded') p.cancelled += 1;
  }
  return [...byArch.values()].sort((a, b) => a.arch.localeCompare(b.arch));
}

/** Whether nothing of the architecture is left to happen by itself. */
export const isSettled = (p: ArchProgress): boolean => p.building === 0 && p.waiting === 0;

/**
 * The commit status of an architecture: pending until a build started, running until every build
 * settled, then failed (a build failed or was skipped for a failed dependency), canceled, or success.
 */
export function progressState(p: ArchProgress): ProgressState {
  if (!isSettled(p)) return p.building > 0 || p.built > 0 || p.failed > 0 || p.dependencyFailed > 0 ? 'running' : 'pending';
  if (p.failed > 0 || p.dependencyFailed > 0) return 'failed';
  if (p.cancelled > 0) return 'canceled';
  return 'success';
}

/** The state of the whole set: the first of running, pending, failed, canceled, success that an architecture is in. */
export function overallState(progress: readonly ArchProgress[]): ProgressState {
  const states = new Set(progress.map(progressState));
  return (['running', 'pending', 'failed', 'canceled'] as const).find((s) => states.has(s)) ?? 'success';
}

/** A commit status's short description: "12/30 built, 1 failed, 2 building, 15 waiting". */
export function progressDescription(p: ArchProgress): string {
  const parts = [`${p.built}/${p.rebuilds} built`];
  if (p.failed) parts.push(`${p.failed} failed`);
  if (p.dependencyFailed) parts.push(`${p.dependencyFailed} skipped (failed dependency)`);
  if (p.cancelled) parts.push(`${p.cancelled} cancelled`);
  if (p.building) parts.push(`${p.building} building`);
  if (p.waiting) parts.push(`${p.waiting} waiting`);
  return parts.join(', ');
}

/** The server's signing key, as an install snippet names it: where it is served and its fingerprint. */
export interface SigningKeyRef {
  url: string;
  fingerprint: string;
}

/** The name of the keyring file apt's `signed-by` reads (an armored key: apt reads `.asc` files as such). */
export const APT_KEYRING = '/etc/apt/keyrings/quarters.asc';

/**
 * How to use a repository: a pacman.conf section (`[name]`), or a sources.list line per architecture
 * (`url/ARCH/ ./`). Signed (a `signing` key given): the key's import first, `SigLevel = Required` and
 * apt's `signed-by`; unsigned: `SigLevel = Optional TrustAll` and apt's `trusted=yes`, as they say.
 */
export function installSnippet(flavour: Flavour, repositoryUrl: string, archs: readonly string[], signing: SigningKeyRef | null = null, name = 'quarters'): string {
  if (flavour === 'pkgbuild') {
    const section = ['```ini', `[${name}]`, `SigLevel = ${signing ? 'Required' : 'Optional TrustAll'}`, `Server = ${repositoryUrl}/$arch`, '```'];
    if (!signing) return section.join('\n');
    return ['```sh', `curl -fsSL ${signing.url} -o /tmp/quarters.asc`, 'pacman-key --add /tmp/quarters.asc', `pacman-key --lsign-key ${signing.fingerprint}`, '```', '', ...section].join('\n');
  }
  const option = signing ? `signed-by=${APT_KEYRING}` : 'trusted=yes';
  const lines = archs.map((arch) => `deb [${option}] ${repositoryUrl}/${arch}/ ./`);
  if (!signing) return ['```', ...lines, '```'].join('\n');
  return ['```sh', `curl -fsSL ${signing.url} -o ${APT_KEYRING}  # key ${signing.fingerprint}`, '```', '', '```', ...lines, '```'].join('\n');
}

/** The install snippet's text alone, without its code fences (what the web UI's copy button copies). */
export function installText(flavour: Flavour, repositoryUrl: string, archs: readonly string[], signing: SigningKeyRef | null = null, name = 'quarters'): string {
  return installSnippet(flavour, repositoryUrl, archs, signing, name).split('\n').filter((line) => !line.startsWith('```')).join('\n').replace(/\n\n+/g, '\n').trim();
}

/** At most this many failures are listed by name in the note (each kind); the rest are counted. */
const LISTED = 20;

/** Text GitLab renders as is: one line, no table or link syntax, bounded. */
const plain = (text: string): string => text.replace(/[\r\n|[\]<>`]+/g, ' ').slice(0, 200);

export interface ProgressNoteInput {
  namespace: string;
  iteration: number;
  /** The build set's page in the web UI. */
  pageUrl: string;
  /** `<public_url>/repos/<namespace>/latest`. */
  repositoryUrl: string;
  flavour: Flavour;
  /** The server's signing key; null: the repository is not signed. */
  signing?: SigningKeyRef | null;
  builds: readonly ProgressBuild[];
  /** The build set was cancelled (or retired): nothing more will happen unless someone resumes it. */
  stopped: boolean;
}

/** The merge request note's Markdown: the counts per architecture, the failures with links, how to install. */
export function progressNote(input: ProgressNoteInput): string {
  const progress = archProgress(input.builds);
  const state = input.stopped && progress.some((p) => !isSettled(p)) ? 'canceled' : overallState(progress);
  const rows = progress.map((p) => `| ${p.arch} | ${p.rebuilds} | ${p.built} | ${p.building} | ${p.waiting} | ${p.failed} | ${p.dependencyFailed} |`);
  const lines = [
    `**quarters** builds this merge request as build set [\`${input.namespace}\`](${input.pageUrl}) (iteration ${input.iteration}): **${state}**`,
    '',
    '| architecture | rebuilds | built | building | waiting | failed | skipped (failed dependency) |',
    '| --- | --- | --- | --- | --- | --- | --- |',
    ...(rows.length ? rows : ['| (none) | 0 | 0 | 0 | 0 | 0 | 0 |']),
  ];
  const failed = input.builds.filter((b) => b.state === 'failed');
  if (failed.length) {
    lines.push('', '**Failed**', '');
    for (const b of failed.slice(0, LISTED)) {
      const link = b.pipelineUrl ? ` ([pipeline](${b.pipelineUrl}))` : '';
      lines.push(`- \`${labelOf(b)}\`: ${plain(b.reason ?? 'failed')}${link}`);
    }
    if (failed.length > LISTED) lines.push(`- and ${failed.length - LISTED} more`);
  }
  const skipped = input.builds.filter((b) => b.state === 'dependency-failed');
  if (skipped.length) {
    const names = skipped.slice(0, LISTED).map((b) => `\`${labelOf(b)}\``).join(', ');
    lines.push('', `Skipped because a dependency failed: ${names}${skipped.length > LISTED ? ` and ${skipped.length - LISTED} more` : ''}.`);
  }
  const archs = progress.map((p) => p.arch);
  const where = input.flavour === 'pkgbuild' ? 'in `/etc/pacman.conf`, above the other repositories' : 'in `/etc/apt/sources.list`';
  lines.push('', `To test what it built, add its repository ${where}:`, '', installSnippet(input.flavour, input.repositoryUrl, archs, input.signing ?? null));
  return lines.join('\n');
}
