/**
 * A bump of a build set: which of its packages are bumped, and how the branch, commit and merge
 * request quarters opens for each repository are named, so that a second request finds them again.
 */

/** A rebuild's reason: one line a changelog entry and a merge request title can carry. */
export function checkBumpReason(reason: string): string | null {
  const text = reason.trim();
  if (text === '') return 'reason: say why the packages are rebuilt (e.g. "rebuild against libfoo 2")';
  if (text.length > 200) return `reason: at most 200 characters, got ${text.length}`;
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(text)) return 'reason: one line, without control characters';
  return null;
}

/** What every bump branch's name starts with. */
export const BUMP_BRANCH_PREFIX = 'quarters/bump/';

/** The branch of a bump: one per build set and the iteration it was made from, the same for every repository. */
export function bumpBranch(namespace: string, iteration: number): string {
  return `${BUMP_BRANCH_PREFIX}${namespace}/${iteration}`;
}

/** Why git would refuse `branch` as a branch name (git check-ref-format's rules a build set's name can break), or null. */
export function branchNameProblem(branch: string): string | null {
  if (branch.includes('..')) return `"${branch}" has ".." in it, which git refuses in a branch name`;
  const bad = branch.split('/').find((part) => part.endsWith('.lock') || part.endsWith('.') || part.startsWith('.'));
  return bad === undefined ? null : `"${branch}": git refuses a branch name part "${bad}" (starting or ending with ".", or ending with ".lock")`;
}

/** The pkgbases a bump rebuilds: the iteration's packages that are not origins (their packager changed those). */
export function bumpedPackages(builds: readonly { pkgbase: string }[], origins: readonly string[]): string[] {
  const changed = new Set(origins);
  return [...new Set(builds.map((b) => b.pkgbase))].filter((p) => !changed.has(p)).sort();
}

/** The commit message and merge request title of a bump of `pkgbases` in one repository. */
export function bumpTitle(pkgbases: readonly string[], reason: string): string {
  const what = pkgbases.length <= 3 ? pkgbases.join(', ') : `${pkgbases.slice(0, 3).join(', ')} and ${pkgbases.length - 3} more`;
  return `Rebuild ${what}: ${reason}`;
}

/** The merge request description: the reason, the build set, and each package's release change. */
export function bumpDescription(input: { reason: string; namespace: string; iteration: number; buildSetUrl: string; changes: readonly { pkgbase: string; from: string; to: string }[] }): string {
  return [
    `No-change rebuild: ${input.reason}`,
    '',
    `Requested for build set [${input.namespace}](${input.buildSetUrl}) (iteration ${input.iteration}), which rebuilds these packages from this branch.`,
    '',
    '| package | release |',
    '| --- | --- |',
    ...input.changes.map((c) => `| ${c.pkgbase} | ${c.from} → ${c.to} |`),
    '',
    'Merging it lets the distribution build the bumped release as usual; closing it drops the bump from the build set.',
  ].join('\n');
}
