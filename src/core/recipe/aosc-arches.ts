/**
 * AOSC OS architectures and architecture groups, as autobuild4 defines them
 * (`sets/arch_targets.json` and `sets/arch_groups.json` in AOSC-Dev/autobuild4).
 *
 * A `defines` variable may be overridden per architecture (`PKGDEP__AMD64`) or per group
 * (`PKGDEP__RETRO`). autobuild picks, for the architecture it builds on, the architecture's own
 * override first, then the override of the one group the architecture belongs to, then the
 * generic variable; an architecture in two groups that both override the variable is an error
 * ("Ambiguous architecture group variable") unless the architecture has its own override.
 */

/** Every architecture autobuild can build for (`ABHOST` values other than `noarch`). */
export const AOSC_ARCHITECTURES: readonly string[] = [
  'alpha',
  'amd64',
  'arm64',
  'armv4',
  'armv5te',
  'armv6hf',
  'armv7hf',
  'i486',
  'ia64',
  'loongarch64',
  'loongarch64_nosimd',
  'loongson2f',
  'loongson3',
  'm68k',
  'mips32r6el',
  'mips64r6el',
  'optenv32',
  'powerpc',
  'ppc64',
  'ppc64el',
  'riscv64',
  'sparc64',
];

/** Architecture groups, in autobuild's order (the order decides nothing but the message on ambiguity). */
export const AOSC_ARCH_GROUPS: ReadonlyMap<string, readonly string[]> = new Map([
  ['mainline', ['amd64', 'arm64', 'loongarch64', 'loongarch64_nosimd', 'loongson3', 'ppc64el', 'riscv64']],
  ['mainline_tier1', ['amd64', 'arm64', 'loongarch64', 'loongarch64_nosimd']],
  ['mainline_tier2', ['loongson3', 'ppc64el', 'riscv64']],
  ['arm', ['armv4', 'armv5te', 'armv6hf', 'armv7hf', 'arm64']],
  ['ocaml_native', ['amd64', 'arm64', 'ppc64el']],
  ['retro', ['alpha', 'armv4', 'armv5te', 'armv6hf', 'armv7hf', 'i486', 'ia64', 'loongson2f', 'm68k', 'powerpc', 'ppc64']],
  ['optenv', ['optenv32']],
  ['64bit', ['alpha', 'amd64', 'arm64', 'ia64', 'loongarch64', 'loongarch64_nosimd', 'loongson3', 'mips64r6el', 'ppc64el', 'riscv64', 'loongson2f', 'ppc64']],
  ['32bit', ['armv4', 'armv6hf', 'armv7hf', 'i486', 'm68k', 'powerpc']],
]);

/** Where an architecture's value of an overridable variable comes from. */
export type OverrideSource = { kind: 'generic' } | { kind: 'arch' | 'group'; suffix: string };

/** The resolution of one overridable variable on every architecture. */
export interface ArchOverrides {
  /** For each architecture, where its value comes from. */
  byArch: ReadonlyMap<string, OverrideSource>;
  /** Architectures in two or more groups that override the variable, without an override of their own: autobuild refuses to build there. */
  ambiguous: { arch: string; groups: string[] }[];
}

const GROUPS_OF = new Map(AOSC_ARCHITECTURES.map((arch) => [arch, [...AOSC_ARCH_GROUPS].filter(([, members]) => members.includes(arch)).map(([group]) => group.toUpperCase())]));

const ALL_GENERIC: ReadonlyMap<string, OverrideSource> = new Map(AOSC_ARCHITECTURES.map((arch) => [arch, { kind: 'generic' }]));

/**
 * Resolves which variable (`KEY`, `KEY__<ARCH>` or `KEY__<GROUP>`) gives a variable's value on
 * each architecture, given the suffixes (`AMD64`, `RETRO`…) of its overrides that are defined.
 */
export function resolveArchOverrides(definedSuffixes: ReadonlySet<string>): ArchOverrides {
  if (definedSuffixes.size === 0) return { byArch: ALL_GENERIC, ambiguous: [] };
  const byArch = new Map<string, OverrideSource>();
  const ambiguous: { arch: string; groups: string[] }[] = [];
  for (const arch of AOSC_ARCHITECTURES) {
    const own = arch.toUpperCase();
    if (definedSuffixes.has(own)) {
      byArch.set(arch, { kind: 'arch', suffix: own });
      continue;
    }
    const groups = GROUPS_OF.get(arch)!.filter((group) => definedSuffixes.has(group));
    if (groups.length > 1) ambiguous.push({ arch, groups: groups.map((g) => g.toLowerCase()) });
    byArch.set(arch, groups.length > 0 ? { kind: 'group', suffix: groups[0]! } : { kind: 'generic' });
  }
  return { byArch, ambiguous };
}
