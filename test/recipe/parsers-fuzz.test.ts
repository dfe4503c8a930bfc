/**
 * Fuzzing the recipe parsers and the version orderings with fast-check: random text and real
 * recipes from ../shared/datasets mutated line by line. A parser may only answer with its own
 * issues (each naming the file it was given and a line in it), never throw; version comparison
 * is a total order (reflexive, antisymmetric, transitive) on whatever the parsers accept.
 * FUZZ_RUNS raises the number of cases (default 3000 per property).
 */
import { join, resolve } from 'node:path';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { readInputText, readTree } from '../../src/cli/input.js';
import { isAbbsRecipePath } from '../../src/core/recipe/abbs.js';
import { isSrcinfoPath } from '../../src/core/recipe/srcinfo.js';
import { parseAbbsPackage } from '../../src/core/recipe/abbs.js';
import { parseDebianControl, parseDebianSources } from '../../src/core/recipe/debian.js';
import type { ParseResult } from '../../src/core/recipe/model.js';
import { parseSrcinfo } from '../../src/core/recipe/srcinfo.js';
import { compareVersions, tryParseVersion } from '../../src/core/version/index.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 3000);
const DATASETS = resolve(process.cwd(), '../shared/datasets');

/** Every `step`-th of the texts, at most `count`. */
function spread<T>(items: readonly T[], count: number): T[] {
  const step = Math.max(1, Math.floor(items.length / count));
  return items.filter((_, i) => i % step === 0).slice(0, count);
}

/** Real text with lines dropped, duplicated, swapped or replaced by random ones, and random bytes spliced in. */
function mutated(bases: readonly string[]): fc.Arbitrary<string> {
  const line = fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.constantFrom('', '=', ' = ', '\t', 'pkgname =', '}', '"', "'", '$(', '\\', '\r'));
  const edit = fc.tuple(fc.nat(), fc.constantFrom('drop', 'dup', 'replace', 'insert', 'splice'), line);
  return fc.tuple(fc.constantFrom(...bases), fc.array(edit, { minLength: 1, maxLength: 8 })).map(([text, edits]) => {
    const lines = text.split('\n');
    for (const [at, kind, extra] of edits) {
      const i = lines.length ? at % lines.length : 0;
      if (kind === 'drop') lines.splice(i, 1);
      else if (kind === 'dup') lines.splice(i, 0, lines[i] ?? '');
      else if (kind === 'replace') lines[i] = extra;
      else if (kind === 'insert') lines.splice(i, 0, extra);
      else lines[i] = `${(lines[i] ?? '').slice(0, at % 7)}${extra}${(lines[i] ?? '').slice(at % 7)}`;
    }
    return lines.join('\n');
  });
}

/** The parser's own answer: no exception, and every issue names the file and a line within the text. */
function expectOwnAnswer(result: Pick<ParseResult<unknown>, 'issues'>, file: string, text: string): void {
  const lines = text.split('\n').length + 1;
  for (const issue of result.issues) {
    expect(issue.file.startsWith(file), JSON.stringify(issue)).toBe(true);
    expect(issue.line).toBeGreaterThanOrEqual(0);
    expect(issue.line).toBeLessThanOrEqual(lines);
    expect(issue.message.length).toBeGreaterThan(0);
  }
}

describe('recipe parsers under fuzzing: only their own issues, never an exception', () => {
  let srcinfo: string[] = [];
  let specs: string[] = [];
  let defines: string[] = [];
  let sources: string[] = [];
  beforeAll(async () => {
    srcinfo = spread((await readTree(join(DATASETS, 'archlinux-srcinfo', 'srcinfo.tar.xz'), isSrcinfoPath)).map((f) => f.text), 40);
    const abbs = await readTree(join(DATASETS, 'aosc-abbs', 'abbs-metadata.tar.xz'), isAbbsRecipePath);
    specs = spread(abbs.filter((f) => f.path.endsWith('/spec')).map((f) => f.text), 20);
    defines = spread(abbs.filter((f) => f.path.endsWith('autobuild/defines')).map((f) => f.text), 20);
    // The first 200 stanzas of bookworm's Sources are enough variety to mutate.
    const text = await readInputText(join(DATASETS, 'debian-bookworm', 'Sources.xz'));
    sources = spread(text.slice(0, 2_000_000).split('\n\n').slice(0, 200), 40).map((p) => `${p}\n`);
  }, 120_000);

  it('.SRCINFO', () => {
    fc.assert(fc.property(fc.oneof(mutated(srcinfo), fc.string(), fc.string({ unit: 'binary' })), (text) => {
      expectOwnAnswer(parseSrcinfo(text, 'x/.SRCINFO'), 'x/.SRCINFO', text);
    }), { numRuns: RUNS });
  });

  it('AOSC spec + autobuild/defines', () => {
    fc.assert(fc.property(fc.oneof(mutated(specs), fc.string()), fc.oneof(mutated(defines), fc.string()), (spec, defs) => {
      const result = parseAbbsPackage('extra-x/pkg', [{ path: 'extra-x/pkg/spec', text: spec }, { path: 'extra-x/pkg/autobuild/defines', text: defs }]);
      expectOwnAnswer(result, 'extra-x/pkg', `${spec}\n${defs}`);
    }), { numRuns: RUNS });
  });

  it('Debian Sources and debian/control', () => {
    fc.assert(fc.property(fc.oneof(mutated(sources), fc.string(), fc.string({ unit: 'binary' })), (text) => {
      expectOwnAnswer(parseDebianSources(text, 'Sources'), 'Sources', text);
      expectOwnAnswer(parseDebianControl(text, 'debian/control'), 'debian/control', text);
    }), { numRuns: RUNS });
  });
});

describe('version comparison under fuzzing: a total order on what parses', () => {
  const segment = fc.stringMatching(/^[0-9A-Za-z]{1,4}$/);
  const separators = fc.constantFrom('.', '+', '~', '_', '-');
  const upstream = fc.tuple(segment, fc.array(fc.tuple(separators, segment), { maxLength: 4 })).map(([first, rest]) => first + rest.map(([s, p]) => s + p).join(''));
  const version = fc.tuple(fc.option(fc.nat({ max: 3 }), { nil: undefined }), upstream, fc.option(fc.stringMatching(/^[0-9][0-9a-z.+~]{0,3}$/), { nil: undefined }))
    .map(([epoch, up, rel]) => `${epoch === undefined ? '' : `${epoch}:`}${/^[0-9]/.test(up) ? up : `0${up}`}${rel === undefined ? '' : `-${rel}`}`);

  for (const flavour of ['pkgbuild', 'debian'] as const) {
    const valid = version.filter((v) => tryParseVersion(flavour, v).ok);
    it(`${flavour}: reflexive, antisymmetric, transitive`, () => {
      fc.assert(fc.property(valid, valid, valid, (a, b, c) => {
        const sign = (n: number) => Math.sign(n);
        expect(compareVersions(flavour, a, a)).toBe(0);
        expect(sign(compareVersions(flavour, a, b)) + sign(compareVersions(flavour, b, a))).toBe(0);
        if (compareVersions(flavour, a, b) <= 0 && compareVersions(flavour, b, c) <= 0) expect(compareVersions(flavour, a, c)).toBeLessThanOrEqual(0);
      }), { numRuns: RUNS });
    });
  }
});
