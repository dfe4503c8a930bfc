import { describe, expect, it } from 'vitest';
import { ClauseCache, parseProvides, parseRelations, type SubstvarCollector } from './debian-relations.js';
import type { ParseIssue } from './model.js';

const AT = { file: 'debian/control', line: 10, field: 'Build-Depends' };

function relations(value: string, substvars?: SubstvarCollector) {
  const issues: ParseIssue[] = [];
  const clauses = parseRelations(value, AT, issues, substvars ? { substvars } : {});
  return { clauses, issues };
}

describe('parseRelations', () => {
  it('reads plain names, alternatives and empty clauses', () => {
    expect(relations('libc6, a | b |c,, d ,').clauses).toEqual([[{ name: 'libc6' }], [{ name: 'a' }, { name: 'b' }, { name: 'c' }], [{ name: 'd' }]]);
  });

  it('reads every version relation, normalising << >> and the obsolete < >', () => {
    const { clauses, issues } = relations('a (<< 1), b (<= 1:2.0-1), c (= 3), d (>= 4~rc1), e (>> 5), f (< 6), g (> 7), h(>=8), i ( =  9 )');
    expect(issues).toEqual([]);
    expect(clauses.map(([d]) => [d!.name, d!.constraint?.op, d!.constraint?.version])).toEqual([
      ['a', '<', '1'],
      ['b', '<=', '1:2.0-1'],
      ['c', '=', '3'],
      ['d', '>=', '4~rc1'],
      ['e', '>', '5'],
      ['f', '<=', '6'],
      ['g', '>=', '7'],
      ['h', '>=', '8'],
      ['i', '=', '9'],
    ]);
  });

  it('reads architecture restrictions, negated and wildcard, as written', () => {
    expect(relations('a [amd64 i386], b [!hurd-any !kfreebsd-any], c [linux-any any-amd64]').clauses).toEqual([
      [{ name: 'a', arches: { negated: false, arches: ['amd64', 'i386'] } }],
      [{ name: 'b', arches: { negated: true, arches: ['hurd-any', 'kfreebsd-any'] } }],
      [{ name: 'c', arches: { negated: false, arches: ['linux-any', 'any-amd64'] } }],
    ]);
  });

  it('reads build-profile formulas as a disjunction of conjunctions', () => {
    expect(relations('a <!nocheck> <stage1 cross>, b (>= 1) [amd64] <!nodoc>').clauses).toEqual([
      [{ name: 'a', profiles: [['!nocheck'], ['stage1', 'cross']] }],
      [{ name: 'b', constraint: { op: '>=', version: '1' }, arches: { negated: false, arches: ['amd64'] }, profiles: [['!nodoc']] }],
    ]);
  });

  it('reads multiarch qualifiers', () => {
    expect(relations('python3:any (>= 3.9), gcc:native, libc6-dev:amd64 | libc6-dev:i386').clauses).toEqual([
      [{ name: 'python3', archQualifier: 'any', constraint: { op: '>=', version: '3.9' } }],
      [{ name: 'gcc', archQualifier: 'native' }],
      [
        { name: 'libc6-dev', archQualifier: 'amd64' },
        { name: 'libc6-dev', archQualifier: 'i386' },
      ],
    ]);
  });

  it('reads fields folded over several lines', () => {
    expect(relations('debhelper-compat (= 13),\n libfoo-dev\n  (>= 2),\n\tbar').clauses).toEqual([
      [{ name: 'debhelper-compat', constraint: { op: '=', version: '13' } }],
      [{ name: 'libfoo-dev', constraint: { op: '>=', version: '2' } }],
      [{ name: 'bar' }],
    ]);
  });

  it.each([
    ['a (>= 1', 'missing ")"'],
    ['a (~ 1)', 'expected a relation (<<, <=, =, >=, >>) after "("'],
    ['a (>= )', 'missing version after ">="'],
    ['a (>= 1 2)', 'malformed version "1 2"'],
    ['a [amd64', 'missing "]"'],
    ['a []', 'empty architecture list "[]"'],
    ['a [amd64 !i386]', 'architecture list mixes negated and plain architectures'],
    ['a [AMD64]', 'malformed architecture "AMD64"'],
    ['a <nocheck', 'missing ">"'],
    ['a <>', 'empty build profile "<>"'],
    ['a |', 'missing package name'],
    ['| a', 'expected a package name, found "|"'],
    ['-a', 'expected a package name, found "-"'],
    ['a b', 'unexpected "b" after "a"'],
    ['a [amd64] (>= 1)', 'unexpected "(" after "a [amd64]"'],
    ['${shlibs:Depends}', 'unresolved substitution variable ${shlibs:Depends}'],
    ['a (= ${binary:Version})', 'unresolved substitution variable in version "${binary:Version}"'],
  ])('reports %j as an issue and leaves only that clause out', (bad, reason) => {
    const { clauses, issues } = relations(`good, ${bad}, also-good`);
    expect(clauses).toEqual([[{ name: 'good' }], [{ name: 'also-good' }]]);
    expect(issues).toEqual([{ file: 'debian/control', line: 10, message: `Build-Depends: ${reason} in "${bad}"; clause left out` }]);
  });

  it('keeps the next clause when a bracket is not closed before the comma', () => {
    const { clauses, issues } = relations('a (>= 1, b (>= 2), c [amd64, d <stage1, e');
    expect(clauses.map((c) => c[0]!.name)).toEqual(['b', 'e']);
    expect(issues.map((i) => i.message)).toEqual([
      'Build-Depends: missing ")" in "a (>= 1"; clause left out',
      'Build-Depends: missing "]" in "c [amd64"; clause left out',
      'Build-Depends: missing ">" in "d <stage1"; clause left out',
    ]);
  });

  it('reports the line within a folded field', () => {
    const { issues } = relations('a,\n b,\n c (>= ),\n d');
    expect(issues.map((i) => i.line)).toEqual([12]);
  });

  it('collects substitution variables and resolves the known ones in versions', () => {
    const substvars: SubstvarCollector = { found: [], values: new Map([['binary:Version', '1.2-3']]) };
    const { clauses, issues } = relations('${shlibs:Depends}, ${misc:Depends}, libfoo1 (= ${binary:Version}), libbar (>= ${bar:Version}), baz', substvars);
    expect(issues).toEqual([]);
    expect(clauses).toEqual([[{ name: 'libfoo1', constraint: { op: '=', version: '1.2-3' } }], [{ name: 'libbar' }], [{ name: 'baz' }]]);
    expect(substvars.found).toEqual(['${shlibs:Depends}', '${misc:Depends}', '${bar:Version}']);
  });

  it('shares equal clauses through a cache', () => {
    const cache = new ClauseCache();
    const issues: ParseIssue[] = [];
    const first = parseRelations('libc6 (>= 2.34), a | b', AT, issues, { cache });
    const second = parseRelations('libc6 (>= 2.34),a | b , c', AT, issues, { cache });
    expect(second[0]).toBe(first[0]);
    expect(second[1]).toBe(first[1]);
    expect(second[2]).toEqual([{ name: 'c' }]);
    // A malformed clause is never cached: each occurrence is reported.
    parseRelations('x (>=', AT, issues, { cache });
    parseRelations('x (>=', AT, issues, { cache });
    expect(issues).toHaveLength(2);
  });
});

describe('ClauseCache', () => {
  it('tells apart clauses that share a slot', () => {
    // One slot: every clause evicts the one before, and a lookup must compare the text, not trust the slot.
    const cache = new ClauseCache(1);
    const issues: ParseIssue[] = [];
    const names = (value: string) => parseRelations(value, AT, issues, { cache }).map((clause) => clause.map((d) => d.name).join('|'));
    expect(names('a, b, a, ab, a|b, b')).toEqual(['a', 'b', 'a', 'ab', 'a|b', 'b']);
    expect(names('b, b')).toEqual(['b', 'b']);
    expect(issues).toEqual([]);
  });
});

describe('parseProvides', () => {
  it('reads names, versioned provides and qualifiers', () => {
    const issues: ParseIssue[] = [];
    expect(parseProvides('node-acorn-jsx (= 5.3.1), gnome-icon-theme-symbolic, foo [amd64]', { ...AT, field: 'Provides' }, issues)).toEqual([
      { name: 'node-acorn-jsx', version: '5.3.1' },
      { name: 'gnome-icon-theme-symbolic' },
      { name: 'foo', arches: { negated: false, arches: ['amd64'] } },
    ]);
    expect(issues).toEqual([]);
  });

  it('reports alternatives, non-"=" versions and profiles', () => {
    const issues: ParseIssue[] = [];
    expect(parseProvides('a | b, c (>= 1), d <stage1>, e', { ...AT, field: 'Provides' }, issues)).toEqual([{ name: 'e' }]);
    expect(issues.map((i) => i.message)).toEqual([
      'Provides: alternatives ("|") are not allowed in Provides ("a | b"); left out',
      'Provides: only "=" versions are allowed in Provides, found ">=" ("c"); left out',
      'Provides: build profiles are not allowed in Provides ("d"); left out',
    ]);
  });
});
