import { describe, expect, it } from 'vitest';
import { compareDebianVersions } from '../version/dpkg.js';
import { parseAbbsPackage } from '../recipe/abbs.js';
import { BumpError, bumpAoscSpec, bumpRecipe, bumpDebianChangelog, bumpPkgbuild, bumpSrcinfo, changelogDate, nextDebianVersion, nextPkgrel } from './release-bump.js';
import { branchNameProblem, bumpBranch, bumpedPackages, bumpTitle, checkBumpReason } from './bump-request.js';

describe('Arch pkgrel', () => {
  it('goes to the next whole release, a minor pkgrel included', () => {
    expect(nextPkgrel('1')).toBe('2');
    expect(nextPkgrel('9')).toBe('10');
    expect(nextPkgrel('2.1')).toBe('3');
    expect(() => nextPkgrel('x')).toThrow(BumpError);
  });

  it('rewrites the top-level pkgrel of a PKGBUILD, quoted or not, and nothing else', () => {
    const text = 'pkgname=zlib\npkgver=1.3\npkgrel=4 # keep\npackage() {\n  echo pkgrel=1\n}\n';
    expect(bumpPkgbuild(text)).toEqual({ text: text.replace('pkgrel=4 #', 'pkgrel=5 #'), from: '4', to: '5' });
    expect(bumpPkgbuild("pkgrel='2'\n").text).toBe("pkgrel='3'\n");
    expect(bumpPkgbuild('pkgrel="2.1"\n').text).toBe('pkgrel="3"\n');
  });

  it('refuses a PKGBUILD whose pkgrel it cannot rewrite safely', () => {
    expect(() => bumpPkgbuild('pkgver=1\n')).toThrow(/no pkgrel= line/);
    expect(() => bumpPkgbuild('pkgrel=$_rel\n')).toThrow(/not a plain top-level assignment/);
    expect(() => bumpPkgbuild('pkgrel=1\npkgrel=2\n')).toThrow(/assigned 2 times/);
  });

  it('sets the pkgbase pkgrel of a .SRCINFO', () => {
    const text = 'pkgbase = zlib\n\tpkgver = 1.3\n\tpkgrel = 4\n\tarch = x86_64\n\npkgname = zlib\n';
    expect(bumpSrcinfo(text, '5')).toEqual({ text: text.replace('pkgrel = 4', 'pkgrel = 5'), from: '4', to: '5' });
    expect(() => bumpSrcinfo('pkgbase = zlib\n', '2')).toThrow(BumpError);
  });
});

describe('AOSC REL', () => {
  const spec = (rel: string | null) => `VER=1.2.3\n${rel === null ? '' : `${rel}\n`}SRCS="tbl::https://example.org/a-$VER.tar.gz"\nCHKSUMS="SKIP"\nCHKUPDATE="anitya::id=1"\n`;
  const version = (text: string) => parseAbbsPackage('app-misc/a', [
    { path: 'app-misc/a/spec', text },
    { path: 'app-misc/a/autobuild/defines', text: 'PKGNAME=a\nPKGSEC=misc\nPKGDES="a package"\n' },
  ]).value!.version.text;

  it('increments REL, and an absent REL (0) becomes REL=1; the parser reads the new version', () => {
    const absent = bumpAoscSpec(spec(null));
    expect(absent).toMatchObject({ from: '0', to: '1' });
    expect(version(spec(null))).toBe('1.2.3');
    expect(version(absent.text)).toBe('1.2.3-1');
    const present = bumpAoscSpec(spec('REL=3'));
    expect(present).toMatchObject({ from: '3', to: '4' });
    expect(version(present.text)).toBe('1.2.3-4');
    expect(bumpAoscSpec(spec('REL="0retro1"')).text).toContain('REL="0retro2"');
    expect(compareDebianVersions(version(present.text), version(spec('REL=3')))).toBeGreaterThan(0);
  });

  it('refuses what it cannot rewrite', () => {
    expect(() => bumpAoscSpec(spec('REL=$X'))).toThrow(/not a plain assignment/);
    expect(() => bumpAoscSpec('SRCS=x\n')).toThrow(/no VER=/);
  });
});

describe('Debian changelog', () => {
  it('increments the revision, dropping an NMU part; a native version gets +nmuN; each compares greater', () => {
    const cases: [string, string][] = [['1.2-3', '1.2-4'], ['1.2-3.1', '1.2-4'], ['2:1.0-1', '2:1.0-2'], ['1.0-0ubuntu1', '1.0-0ubuntu2'], ['1.5', '1.5+nmu1'], ['1.5+nmu1', '1.5+nmu2']];
    for (const [from, to] of cases) {
      expect(nextDebianVersion(from)).toBe(to);
      expect(compareDebianVersions(to, from)).toBeGreaterThan(0);
    }
    expect(() => nextDebianVersion('1.0-a')).toThrow(BumpError);
  });

  it('puts a well-formed entry on top', () => {
    const old = 'hello (2.10-3) unstable; urgency=low\n\n  * Something.\n\n -- A B <a@example.org>  Mon, 01 Jan 2024 00:00:00 +0000\n';
    const at = new Date(Date.UTC(2024, 2, 21, 10, 5, 9));
    const bumped = bumpDebianChangelog(old, { reason: 'rebuild against libfoo 2', maintainer: 'Jane <jane@example.org>', at });
    expect(bumped.from).toBe('2.10-3');
    expect(bumped.to).toBe('2.10-4');
    expect(bumped.text).toBe(`hello (2.10-4) unstable; urgency=medium\n\n  * No-change rebuild: rebuild against libfoo 2\n\n -- Jane <jane@example.org>  Thu, 21 Mar 2024 10:05:09 +0000\n\n${old}`);
    expect(changelogDate(at)).toBe('Thu, 21 Mar 2024 10:05:09 +0000');
    expect(() => bumpDebianChangelog('nonsense\n', { reason: 'r', maintainer: 'Jane <jane@example.org>', at })).toThrow(/entry header/);
    expect(() => bumpDebianChangelog(old, { reason: 'r', maintainer: 'jane', at })).toThrow(/Name <email>/);
  });
});

describe('bump requests', () => {
  it('names the branch, picks the packages and checks the reason', () => {
    expect(bumpBranch('soname-foo', 3)).toBe('quarters/bump/soname-foo/3');
    expect(bumpedPackages([{ pkgbase: 'b' }, { pkgbase: 'foo' }, { pkgbase: 'a' }, { pkgbase: 'b' }], ['foo'])).toEqual(['a', 'b']);
    expect(bumpTitle(['a', 'b', 'c', 'd', 'e'], 'libfoo 2')).toBe('Rebuild a, b, c and 2 more: libfoo 2');
    expect(checkBumpReason('libfoo 2')).toBeNull();
    expect(checkBumpReason(' ')).toMatch(/say why/);
    expect(checkBumpReason('a\nb')).toMatch(/one line/);
    expect(branchNameProblem(bumpBranch('soname-foo', 3))).toBeNull();
    expect(branchNameProblem(bumpBranch('a..b', 1))).toMatch(/"\.\."/);
    expect(branchNameProblem(bumpBranch('x.lock', 1))).toMatch(/x\.lock/);
    expect(branchNameProblem(bumpBranch('x.', 1))).toMatch(/"x\."/);
  });
});

describe('bumpRecipe', () => {
  const at = new Date(0);
  it('rewrites PKGBUILD and .SRCINFO together, and refuses when they disagree', () => {
    const read = new Map([['PKGBUILD', 'pkgname=a\npkgver=1\npkgrel=1\n'], ['.SRCINFO', 'pkgbase = a\n\tpkgver = 1\n\tpkgrel = 1\n\npkgname = a\n']]);
    const bump = bumpRecipe('pkgbuild', read, { reason: 'r', maintainer: null, at });
    expect(bump.files.map((f) => f.path)).toEqual(['PKGBUILD', '.SRCINFO']);
    expect(bump.files[1]!.content).toContain('\tpkgrel = 2\n');
    read.set('.SRCINFO', 'pkgbase = a\n\tpkgrel = 3\n');
    expect(() => bumpRecipe('pkgbuild', read, { reason: 'r', maintainer: null, at })).toThrow(/makepkg --printsrcinfo/);
    expect(() => bumpRecipe('pkgbuild', new Map(), { reason: 'r', maintainer: null, at })).toThrow(/PKGBUILD is missing/);
  });

  it('needs a maintainer for a Debian changelog entry', () => {
    const read = new Map([['debian/changelog', 'ab (1-1) unstable; urgency=low\n']]);
    expect(() => bumpRecipe('debian', read, { reason: 'r', maintainer: null, at })).toThrow(/maintainer/);
    expect(bumpRecipe('debian', read, { reason: 'r', maintainer: 'J <j@e.org>', at })).toMatchObject({ from: '1-1', to: '1-2' });
  });
});
