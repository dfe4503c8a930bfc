/**
 * `quarters graph`: rebuild graphs from package metadata.
 *   quarters graph rdeps --from SPEC [--arch ARCH] [--json] [--keep-going] PKG...
 *   quarters graph plan  --from SPEC --arch ARCH [--profile NAME]... [--all-alternatives] [--json] [--keep-going] PKGBASE...
 */
import type { BuildSetPlan, PlanEdge } from '../core/graph/plan.js';
import { reverseClosure, UnknownBinaryError, type ReverseClosure } from '../core/graph/reverse-closure.js';
import type { Universe } from '../core/graph/universe.js';
import { archView } from '../core/recipe/arch-view.js';
import { formatDependency } from '../core/recipe/dependency-text.js';
import { formatParseIssue, type Flavour, type ParseIssue } from '../core/recipe/model.js';
import { CommandError, UsageError } from './command.js';
import { loadRunDependencies, loadUniverse, parseUniverseSpec, type LoadNeeds, type UniverseSpec } from './universe-load.js';

/** The options of `graph rdeps` and `graph plan` (program.ts declares them). */
export interface GraphFlags {
  from?: string;
  arch?: string;
  profile?: string[];
  json?: boolean;
  keepGoing?: boolean;
  allAlternatives?: boolean;
}

interface GraphArgs {
  spec: UniverseSpec;
  arch: string | undefined;
  profiles: string[];
  json: boolean;
  keepGoing: boolean;
  allAlternatives: boolean;
  names: string[];
}

function readArgs(names: string[], values: GraphFlags, subcommand: string): GraphArgs {
  if (!values.from) throw new UsageError(`graph ${subcommand}: --from SPEC is required`);
  if (names.length === 0) throw new UsageError(`graph ${subcommand}: name at least one package`);
  return {
    spec: parseUniverseSpec(values.from),
    arch: values.arch,
    profiles: values.profile ?? [],
    json: values.json ?? false,
    keepGoing: values.keepGoing ?? false,
    allAlternatives: values.allAlternatives ?? false,
    names,
  };
}

/** Loads the input; parse problems stop the command unless --keep-going, which prints them as warnings. */
async function load(args: GraphArgs, needs: LoadNeeds): Promise<Universe> {
  const { universe, issues } = await loadUniverse(args.spec, needs);
  checkIssues(args, issues);
  return universe;
}

/** Parse problems stop the command unless --keep-going, which prints them as warnings. */
function checkIssues(args: GraphArgs, issues: ParseIssue[]): void {
  if (issues.length > 0) {
    if (!args.keepGoing) {
      const more = issues.length > 1 ? ` (and ${issues.length - 1} more; --keep-going uses what parses)` : ' (--keep-going uses what parses)';
      throw new CommandError(`${formatParseIssue(issues[0]!)}${more}`);
    }
    warn(issues);
  }
}

function warn(issues: ParseIssue[]): void {
  const shown = issues.slice(0, 10);
  for (const issue of shown) process.stderr.write(`quarters: warning: ${formatParseIssue(issue)}\n`);
  if (issues.length > shown.length) process.stderr.write(`quarters: warning: ${issues.length - shown.length} more problems in the input\n`);
}

/** The architecture binaries are mostly built for when none is given: the commonest concrete one of their Architecture lists. */
function defaultArch(flavour: Flavour, architectures: readonly (readonly string[])[]): string {
  if (flavour === 'pkgbuild') return 'x86_64';
  // Parsers share equal architecture lists, so they are counted per list first: a few lists for a whole archive.
  const lists = new Map<readonly string[], number>();
  for (const list of architectures) lists.set(list, (lists.get(list) ?? 0) + 1);
  const counts = new Map<string, number>();
  for (const [list, n] of lists) {
    for (const arch of list) if (arch !== 'all' && arch !== 'any') counts.set(arch, (counts.get(arch) ?? 0) + n);
  }
  let best = 'amd64';
  let bestCount = 0;
  for (const [arch, n] of counts) if (n > bestCount || (n === bestCount && arch < best)) [best, bestCount] = [arch, n];
  return best;
}

function write(text: string): void {
  process.stdout.write(text);
}

/** `graph rdeps`: the binaries that need the named ones, directly or not. */
export async function rdeps(names: string[], flags: GraphFlags): Promise<number> {
  const args = readArgs(names, flags, 'rdeps');
  if (args.spec.kind === 'debian' && !args.spec.packages) throw new UsageError('graph rdeps: Debian binaries come from the Packages file: --from debian:SOURCES,PACKAGES (or debian:,PACKAGES)');
  const { builder, issues } = await loadRunDependencies(args.spec);
  checkIssues(args, issues);
  const arch = args.arch ?? defaultArch(builder.flavour, builder.architectures());
  const index = builder.build(archView(arch, args.profiles));
  let closure: ReverseClosure;
  try {
    closure = reverseClosure(index, args.names);
  } catch (error) {
    if (error instanceof UnknownBinaryError) throw new CommandError(`${error.message} (in ${describeSpec(args.spec)}, ${arch})`);
    throw error;
  }
  if (args.json) {
    const members = closure.members.map((m) => ({ name: m.name, version: m.version, ...(m.via ? { via: { name: m.via.name, dependency: formatDependency(m.via.atom) } } : {}) }));
    write(`${JSON.stringify({ arch, names: args.names, count: members.length, members }, null, 2)}\n`);
    return 0;
  }
  const lines = closure.members.map((m) => `${m.name} ${m.version}`);
  write(`${lines.join('\n')}${lines.length > 0 ? '\n' : ''}rdeps: ${closure.members.length}\n`);
  return 0;
}

/** `graph plan`: the build set of a change: waves, cycles, critical path. */
export async function plan(names: string[], flags: GraphFlags): Promise<number> {
  const args = readArgs(names, flags, 'plan');
  if (!args.arch) throw new UsageError('graph plan: --arch ARCH is required');
  // Loaded here, not at the top: rdeps, the other subcommand, needs none of the planner.
  const planner = import('../core/graph/plan.js');
  const universe = await load(args, { sources: true });
  if (universe.sources.length === 0) throw new CommandError(`${describeSpec(args.spec)}: no source packages to plan (give the Sources file)`);
  const { planBuildSet, UnknownSourceError } = await planner;
  let result: BuildSetPlan;
  try {
    result = planBuildSet(universe, { arch: args.arch, profiles: args.profiles, origins: args.names, alternatives: args.allAlternatives ? 'all' : 'first' });
  } catch (error) {
    if (error instanceof UnknownSourceError) throw new CommandError(`${error.message} (in ${describeSpec(args.spec)})`);
    throw error;
  }
  if (args.json) {
    write(`${JSON.stringify(result, null, 2)}\n`);
    return 0;
  }
  write(formatPlan(result));
  return 0;
}

function describeEdge(edge: PlanEdge): string {
  return `${edge.from} -> ${edge.to} (${edge.kind}: ${edge.clause}${edge.via ? ` of ${edge.via}` : ''})`;
}

const UNRESOLVED_SHOWN = 20;

/** The plan as text: one line per wave, then cycles, unresolved dependencies and the summary line. */
export function formatPlan(result: BuildSetPlan): string {
  const lines: string[] = [];
  result.waves.forEach((wave, w) => lines.push(`wave ${w} (${wave.length}): ${wave.join(' ')}`));
  result.cycles.forEach((cycle, i) => {
    lines.push(`cycle ${i} (${cycle.members.length}): build order ${cycle.buildOrder.join(' ')}`);
    for (const edge of cycle.closingEdges) lines.push(`  closing edge: ${describeEdge(edge)}`);
  });
  lines.push(`critical path (${result.criticalPath.length}): ${result.criticalPath.join(' -> ')}`);
  // An incomplete universe (a third-party repository without its base distribution) can leave thousands; --json has them all.
  for (const problem of result.unresolved.slice(0, UNRESOLVED_SHOWN)) {
    lines.push(`unresolved: ${problem.pkgbase}: ${problem.kind}: ${problem.clause}${problem.binary ? ` (of ${problem.binary})` : ''}`);
  }
  if (result.unresolved.length > UNRESOLVED_SHOWN) lines.push(`unresolved: ${result.unresolved.length - UNRESOLVED_SHOWN} more (--json lists them all)`);
  lines.push(`plan: packages=${result.packages.length} waves=${result.waves.length} cycles=${result.cycles.length}`);
  return `${lines.join('\n')}\n`;
}

function describeSpec(spec: UniverseSpec): string {
  switch (spec.kind) {
    case 'debian':
      return [spec.sources, spec.packages].filter(Boolean).join(', ');
    default:
      return spec.path;
  }
}
