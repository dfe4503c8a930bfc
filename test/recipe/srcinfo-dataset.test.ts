/**
 * Every `.SRCINFO` of the shared Arch dataset (archlinuxcn and alarmcn trees, as makepkg wrote
 * them) through parseSrcinfoTree: the counts the dataset is known to have, and no issue left.
 */
import { resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readTree } from '../../src/cli/input.js';
import type { ParseIssue, SourcePackage, TextFile } from '../../src/core/recipe/model.js';
import { isSrcinfoPath, parseSrcinfoTree } from '../../src/core/recipe/srcinfo.js';

const ARCHIVE = resolve(process.cwd(), '../shared/datasets/archlinux-srcinfo/srcinfo.tar.xz');

/** Whether any dependency-like list of the package has a per-architecture entry. */
function hasPerArchEntries(pkg: SourcePackage): boolean {
  const clauses = [...pkg.buildDepends, ...pkg.checkDepends, ...pkg.binaries.flatMap((b) => [...b.depends, ...b.optionalDepends, ...b.conflicts, ...b.replaces])];
  return clauses.some((clause) => clause.some((dep) => dep.arches)) || pkg.binaries.some((b) => b.provides.some((p) => p.arches));
}

describe('the Arch .SRCINFO dataset', () => {
  let files: TextFile[];
  let packages: SourcePackage[];
  let issues: ParseIssue[];
  beforeAll(async () => {
    files = await readTree(ARCHIVE, isSrcinfoPath);
    ({ packages, issues } = parseSrcinfoTree(files));
  });

  it('parses every .SRCINFO into a source package', () => {
    console.log(`${files.length} .SRCINFO files, ${packages.length} packages, ${issues.length} issues`);
    expect(files).toHaveLength(2742);
    expect(packages).toHaveLength(2742);
    expect(new Set(packages.map((p) => p.location.file)).size).toBe(2742);
  });

  it('reports the three dependencies whose version the recipe left empty, and keeps their names', () => {
    // These PKGBUILDs write `depends=("guile>=$_guilever")` and the like with a variable that was empty
    // when makepkg wrote the .SRCINFO: the operator is there, the version is not. pacman would compare
    // against an empty version; we report it and keep the dependency unversioned, so the edge stays.
    expect(issues).toEqual([
      { file: 'alarmcn/gdb-git/.SRCINFO', line: 47, message: "depends: dependency 'guile>=' has an operator but no version; kept without a version constraint" },
      { file: 'archlinuxcn/gdb-git/.SRCINFO', line: 47, message: "depends: dependency 'guile>=' has an operator but no version; kept without a version constraint" },
      { file: 'archlinuxcn/nginx-mainline-mod-brotli/.SRCINFO', line: 19, message: "depends: dependency 'nginx-mainline=' has an operator but no version; kept without a version constraint" },
    ]);
    const gdb = packages.find((p) => p.location.file === 'alarmcn/gdb-git/.SRCINFO');
    expect(gdb?.binaries[0]?.depends).toContainEqual([{ name: 'guile' }]);
    expect(gdb?.binaries[0]?.depends).toContainEqual([{ name: 'guile', constraint: { op: '<', version: '.' } }]);
  });

  it('finds the split packages and those with per-architecture dependencies', () => {
    expect(packages.filter((p) => p.binaries.length > 1)).toHaveLength(109);
    expect(packages.filter(hasPerArchEntries).map((p) => p.location.file).sort()).toEqual([
      'alarmcn/7zip/.SRCINFO',
      'alarmcn/atuin-lily-git/.SRCINFO',
      'alarmcn/blender/.SRCINFO',
      'alarmcn/seabios/.SRCINFO',
      'archlinuxcn/devtools-riscv64/.SRCINFO',
    ]);
  });

  it('reads versions, epochs and constraints from real files', () => {
    const devtools = packages.find((p) => p.location.file === 'archlinuxcn/devtools-riscv64/.SRCINFO');
    expect(devtools?.version).toEqual({ epoch: 1, upstream: '1.4.0+patch1', release: '1', text: '1:1.4.0+patch1-1' });
    expect(devtools?.binaries[0]?.depends).toEqual([
      [{ name: 'devtools' }],
      [{ name: 'qemu-user-static', arches: { negated: false, arches: ['x86_64'] } }],
      [{ name: 'qemu-user-static', arches: { negated: false, arches: ['loong64'] } }],
    ]);
    expect(packages.filter((p) => p.version.epoch > 0).length).toBeGreaterThan(100);
    const constrained = packages.flatMap((p) => p.binaries.flatMap((b) => b.depends)).flat().filter((d) => d.constraint);
    expect(constrained.length).toBeGreaterThan(100);
  });
});
