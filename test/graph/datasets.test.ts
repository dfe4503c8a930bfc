/**
 * The graph engine on the shared datasets: Debian bookworm (Sources + Packages, amd64) and the
 * AOSC abbs tree. Plans are checked for the properties every plan must have, and each package's
 * first why-step is checked against the input text it came from.
 */
import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadRunDependencies, loadUniverse } from '../../src/cli/universe-load.js';
import { BinaryIndex } from '../../src/core/graph/binary-index.js';
import { planBuildSet, type BuildSetPlan } from '../../src/core/graph/plan.js';
import { reverseClosure } from '../../src/core/graph/reverse-closure.js';
import { ReverseIndex } from '../../src/core/graph/reverse-index.js';
import { binaryEntries, type Universe } from '../../src/core/graph/universe.js';
import { archView } from '../../src/core/recipe/arch-view.js';
import { formatClause } from '../../src/core/recipe/dependency-text.js';
import type { Dependency } from '../../src/core/recipe/model.js';
import { checkPlan } from '../support/plan-checks.js';

const SHARED = resolve(process.cwd(), '../shared/datasets');

/**
 * The reverse closure found the other way round, as a reference: with the binary index that
 * planning uses (every atom resolved forwards), binaries whose run dependencies some member
 * satisfies are added until none is. Its "name version" lines, sorted.
 */
function forwardClosure(index: BinaryIndex, names: string[]): string[] {
  const members = new Set<number>();
  for (const name of names) {
    const named = index.named(name);
    for (const id of named.length > 0 ? named : index.providers(name).map((provide) => provide.binary)) members.add(id);
  }
  const resolved = new Map<Dependency, number[]>();
  const reaches = (atom: Dependency): boolean => {
    let ids = resolved.get(atom);
    if (!ids) {
      ids = index.resolveAtom(atom);
      resolved.set(atom, ids);
    }
    return ids.some((id) => members.has(id));
  };
  for (let grew = true; grew; ) {
    grew = false;
    index.entries.forEach((_, id) => {
      if (!members.has(id) && index.runClauses(id).some((clause) => clause.some(reaches))) {
        members.add(id);
        grew = true;
      }
    });
  }
  return [...members].map((id) => `${index.entries[id]!.name} ${index.entries[id]!.version}`).sort();
}

/** Problems with the plan's why-steps, checked against the universe's own fields (not the engine's graph). */
function checkWhyStepsAgainstInput(plan: BuildSetPlan, universe: Universe): string[] {
  const problems: string[] = [];
  const sources = new Map(universe.sources.map((s) => [s.pkgbase, s]));
  const binaries = new Map<string, { source: string; names: Set<string>; clauses: Set<string> }[]>();
  for (const entry of binaryEntries(universe)) {
    const names = new Set([entry.name, ...entry.binary.provides.map((p) => p.name)]);
    const clauses = new Set([...entry.binary.preDepends, ...entry.binary.depends].map(formatClause));
    binaries.set(entry.name, [...(binaries.get(entry.name) ?? []), { source: entry.source, names, clauses }]);
  }
  for (const p of plan.packages) {
    const step = p.because;
    if (!step) continue;
    const satisfier = binaries.get(step.binary)?.find((b) => b.source === step.to);
    if (!satisfier) problems.push(`${p.pkgbase}: ${step.binary} is no binary of ${step.to}`);
    const atomNames = step.clause.split(' | ').map((atom) => atom.split(/[ :]/)[0]!);
    if (satisfier && !atomNames.some((name) => satisfier.names.has(name))) problems.push(`${p.pkgbase}: ${step.binary} answers to none of "${step.clause}"`);
    if (step.kind === 'run') {
      const holder = binaries.get(step.via!)?.find((b) => b.source === step.from);
      if (!holder?.clauses.has(step.clause)) problems.push(`${p.pkgbase}: ${step.via} has no dependency "${step.clause}"`);
    } else {
      const source = sources.get(step.from)!;
      const fields = { build: source.buildDepends, 'build-arch': source.buildDependsArch, 'build-indep': source.buildDependsIndep, check: source.checkDepends }[step.kind];
      // The engine may have reduced a clause for the architecture ([i386] alternatives dropped); the text must still be a part of one written.
      if (!fields.map(formatClause).some((written) => written === step.clause || written.split(' | ').join('|').includes(step.clause.split(' | ').join('|')))) {
        problems.push(`${p.pkgbase}: no ${step.kind} dependency "${step.clause}"`);
      }
    }
  }
  return problems;
}

describe('Debian bookworm amd64', () => {
  let universe: Universe;
  beforeAll(async () => {
    const loaded = await loadUniverse(
      { kind: 'debian', sources: `${SHARED}/debian-bookworm/Sources.xz`, packages: `${SHARED}/debian-bookworm/Packages.xz` },
      { sources: true },
    );
    expect(loaded.issues).toEqual([]);
    universe = loaded.universe;
  });

  it('finds the reverse closure of zlib1g that dose-ceve finds, reading Packages as graph rdeps does', async () => {
    const { builder, issues } = await loadRunDependencies({ kind: 'debian', sources: null, packages: `${SHARED}/debian-bookworm/Packages.xz` });
    expect(issues).toEqual([]);
    const closure = reverseClosure(builder.build(archView('amd64')), ['zlib1g']);
    const lines = closure.members.map((m) => `${m.name} ${m.version}\n`).sort();
    // `dose-ceve -r zlib1g --deb-native-arch=amd64 -T deb deb://Packages` (dose-extra 7.0.0) on the same
    // Packages lists 39,945 packages; the sha256 of its "Package Version" lines, sorted bytewise, is:
    expect(lines).toHaveLength(39_945);
    expect(createHash('sha256').update(lines.join('')).digest('hex')).toBe('c0459b4792bfa9c50cd814bdc40ef3d4c174b92b26a368a9db3c9c73626ee44e');
    // The same from a universe of fully parsed packages (the path of recipe trees).
    expect(reverseClosure(ReverseIndex.of(universe, archView('amd64')), ['zlib1g'])).toEqual(closure);
  });

  it('reads Packages for rdeps into the closures the full parser and forward resolution give', async () => {
    const { builder, issues } = await loadRunDependencies({ kind: 'debian', sources: null, packages: `${SHARED}/debian-bookworm/Packages.xz` });
    expect(issues).toEqual([]);
    const index = builder.build(archView('amd64'));
    const forward = BinaryIndex.of(universe, archView('amd64'));
    expect(index.size).toBe(forward.entries.length);
    // A library most of the archive needs, one with a versioned provide (libgcc1), one needed through
    // python3:any (Multi-Arch: allowed), a small cousin of libc6, and a virtual name (providers only).
    for (const name of ['zlib1g', 'libgcc-s1', 'python3', 'libcrypt1', 'mail-transport-agent']) {
      const lines = reverseClosure(index, [name]).members.map((m) => `${m.name} ${m.version}`).sort();
      console.log(`Debian rdeps ${name}: ${lines.length}`);
      expect(lines.length, name).toBeGreaterThan(10);
      expect(lines, name).toEqual(forwardClosure(forward, [name]));
    }
  });

  it('plans zlib: a sound plan whose why-steps are in the input', () => {
    const plan = planBuildSet(universe, { arch: 'amd64', origins: ['zlib'] });
    const biggest = plan.cycles.reduce((a, b) => (b.members.length > a.members.length ? b : a));
    console.log(
      `Debian plan zlib: packages=${plan.packages.length} waves=${plan.waves.length} cycles=${plan.cycles.length} ` +
        `largest cycle=${biggest.members.length} (closing edges ${biggest.closingEdges.length}) edges=${plan.edgeCount} unresolved=${plan.unresolved.length}`,
    );
    expect(checkPlan(plan)).toEqual([]);
    expect(checkWhyStepsAgainstInput(plan, universe)).toEqual([]);
    // The toolchain builds itself: glibc, gcc and zlib are one cycle, which a bootstrap has to break.
    expect(biggest.members).toEqual(expect.arrayContaining(['zlib', 'glibc', 'gcc-12', 'dpkg', 'debhelper']));
    // Every build environment installs dpkg, which Pre-Depends on zlib1g: nearly the whole archive is reached.
    expect(plan.packages.length).toBeGreaterThan(30_000);
  });

  it('plans with the nocheck profile: test-only build dependencies drop out', () => {
    const plain = planBuildSet(universe, { arch: 'amd64', origins: ['zlib'] });
    const nocheck = planBuildSet(universe, { arch: 'amd64', origins: ['zlib'], profiles: ['nocheck'] });
    console.log(`Debian plan zlib <nocheck>: packages=${nocheck.packages.length} edges=${nocheck.edgeCount} (plain: ${plain.edgeCount})`);
    expect(checkPlan(nocheck)).toEqual([]);
    expect(nocheck.edgeCount).toBeLessThan(plain.edgeCount);
  });
});

describe('the AOSC abbs tree, amd64', () => {
  it('plans zlib: a sound plan whose why-steps are in the input', async () => {
    const { universe } = await loadUniverse({ kind: 'aosc', path: `${SHARED}/aosc-abbs/abbs-metadata.tar.xz` }, { sources: true });
    const plan = planBuildSet(universe, { arch: 'amd64', origins: ['zlib'] });
    console.log(`AOSC plan zlib: packages=${plan.packages.length} of ${universe.sources.length} waves=${plan.waves.length} cycles=${plan.cycles.length} unresolved=${plan.unresolved.length}`);
    expect(checkPlan(plan)).toEqual([]);
    expect(checkWhyStepsAgainstInput(plan, universe)).toEqual([]);
    expect(plan.packages.length).toBeGreaterThan(1000);
    expect(plan.packages.length).toBeLessThan(universe.sources.length);
  });
});
