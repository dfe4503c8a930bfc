import { describe, expect, it } from 'vitest';
import { dscProblem, listedFileProblem, parseDsc, sourceFileName, sourceFileNameProblem, uploadOrder, type SourceFile } from './debian-source.js';

const build = { pkgbase: 'garnet-tool', version: '1:1.0-1' };
const sameVersion = (a: string, b: string) => a === b;
const ORIG = { filename: 'garnet-tool_1.0.orig.tar.gz', sha256: 'a'.repeat(64), size: 1200 };
const DEBIAN = { filename: 'garnet-tool_1.0-1.debian.tar.xz', sha256: 'b'.repeat(64), size: 800 };

/** A .dsc as dpkg-source writes one (unsigned), listing `files`. */
function dscText(files: readonly SourceFile[], overrides: Record<string, string> = {}): string {
  const fields = { Format: '3.0 (quilt)', Source: 'garnet-tool', Binary: 'garnet-tool', Architecture: 'any', Version: '1:1.0-1', ...overrides };
  return `${Object.entries(fields).map(([k, v]) => `${k}: ${v}`).join('\n')}\nChecksums-Sha256:\n${files.map((f) => ` ${f.sha256} ${f.size} ${f.filename}`).join('\n')}\n`;
}
const dsc = (files: readonly SourceFile[], overrides?: Record<string, string>) => {
  const parsed = parseDsc(dscText(files, overrides), 'garnet-tool_1.0-1.dsc');
  if (!parsed.ok) throw new Error(parsed.reason);
  return parsed.value;
};
const named = sourceFileName('garnet-tool_1.0-1.dsc')!;

describe('Debian source package files', () => {
  it('names each part, the orig tarball by the upstream version', () => {
    expect(sourceFileName('garnet-tool_1.0.orig.tar.gz')).toEqual({ source: 'garnet-tool', version: '1.0', part: 'orig' });
    expect(sourceFileName('garnet-tool_1.0-1.debian.tar.xz')).toEqual({ source: 'garnet-tool', version: '1.0-1', part: 'debian' });
    expect(sourceFileName('garnet-tool_1.0-1.diff.gz')).toMatchObject({ part: 'diff' });
    expect(sourceFileName('libgarnet_1.2.0.tar.xz')).toEqual({ source: 'libgarnet', version: '1.2.0', part: 'native' });
    expect(sourceFileName('libgarnet_1.2.0_amd64.deb')).toBeNull();
    expect(sourceFileName('garnet-tool_1.0.orig-doc.tar.gz')).toBeNull();
  });

  it("refuses a file named for another source or version than the build's", () => {
    expect(sourceFileNameProblem(sourceFileName('garnet-tool_1.0.orig.tar.gz')!, build)).toBeNull();
    expect(sourceFileNameProblem(sourceFileName('garnet-tool_1.0-1.debian.tar.xz')!, build)).toBeNull();
    expect(sourceFileNameProblem(sourceFileName('garnet-tool_1.1.orig.tar.gz')!, build)).toMatch(/named for garnet-tool at upstream version 1\.1, but the build is of garnet-tool at upstream version 1\.0/);
    expect(sourceFileNameProblem(sourceFileName('openssl_1.0-1.debian.tar.xz')!, build)).toMatch(/named for openssl at version 1\.0-1/);
  });

  it('reads a .dsc, and refuses a signed one or one without its checksums', () => {
    expect(dsc([ORIG, DEBIAN])).toEqual({ source: 'garnet-tool', version: '1:1.0-1', format: '3.0 (quilt)', files: [ORIG, DEBIAN] });
    expect(parseDsc(`-----BEGIN PGP SIGNED MESSAGE-----\n\n${dscText([ORIG])}`, 'x.dsc')).toMatchObject({ ok: false, reason: expect.stringMatching(/is signed/) });
    expect(parseDsc('Format: 1.0\nSource: garnet-tool\nVersion: 1.0\n', 'x.dsc')).toMatchObject({ ok: false, reason: expect.stringMatching(/lacks Source, Version, Format or Checksums-Sha256/) });
    expect(parseDsc(dscText([ORIG]).replace(ORIG.sha256, 'zz'), 'x.dsc')).toMatchObject({ ok: false, reason: expect.stringMatching(/is not "SHA256 SIZE NAME"/) });
  });

  it('takes a .dsc that lists exactly the source files the build uploaded, checksums and sizes as uploaded', () => {
    const uploaded = [ORIG, DEBIAN, { filename: 'garnet-tool_1.0-1_amd64.deb', sha256: 'c'.repeat(64), size: 5 }];
    expect(dscProblem(dsc([ORIG, DEBIAN]), named, build, sameVersion, uploaded)).toBeNull();
  });

  it("refuses a .dsc of the build's source at another version than the build's", () => {
    const other = sourceFileName('garnet-tool_1.0-2.dsc')!;
    expect(dscProblem(dsc([ORIG, DEBIAN], { Version: '1:1.0-2' }), other, build, sameVersion, [ORIG, DEBIAN])).toMatchObject({ kind: 'foreign', reason: expect.stringMatching(/source package of garnet-tool 1:1\.0-2, but the build is of garnet-tool 1:1\.0-1/) });
  });

  it.each([
    ['another source', dsc([ORIG, DEBIAN], { Source: 'openssl' }), [ORIG, DEBIAN], 'misnamed', /named for garnet-tool 1\.0-1, but it says it is of openssl 1:1\.0-1/],
    ['another version', dsc([ORIG, DEBIAN], { Version: '1:1.0-2' }), [ORIG, DEBIAN], 'misnamed', /named for garnet-tool 1\.0-1, but it says it is of garnet-tool 1:1\.0-2/],
    ['a file not uploaded', dsc([ORIG, DEBIAN]), [DEBIAN], 'mismatch', /lists garnet-tool_1\.0\.orig\.tar\.gz, which the build has not uploaded/],
    ['an uploaded file it does not list', dsc([DEBIAN]), [ORIG, DEBIAN], 'mismatch', /the build uploaded garnet-tool_1\.0\.orig\.tar\.gz, which it does not list/],
    ['a checksum that differs', dsc([ORIG, DEBIAN]), [{ ...ORIG, sha256: 'd'.repeat(64) }, DEBIAN], 'mismatch', /garnet-tool_1\.0\.orig\.tar\.gz has sha256 d{64} \(1200 bytes\), but the \.dsc lists sha256 a{64}/],
    ['a size that differs', dsc([ORIG, DEBIAN]), [ORIG, { ...DEBIAN, size: 801 }], 'mismatch', /\(801 bytes\), but the \.dsc lists sha256 b{64} \(800 bytes\)/],
    ['a listed file of another source', dsc([{ ...ORIG, filename: 'openssl_1.0.orig.tar.gz' }, DEBIAN]), [ORIG, DEBIAN], 'foreign', /lists openssl_1\.0\.orig\.tar\.gz: it is named for openssl/],
    ['a listed file that is no source file', dsc([{ ...ORIG, filename: '../../etc/passwd' }, DEBIAN]), [ORIG, DEBIAN], 'foreign', /lists \.\.\/\.\.\/etc\/passwd: no file of a source package/],
  ])('refuses a .dsc with %s', (_what, parsed, uploaded, kind, reason) => {
    expect(dscProblem(parsed, named, build, sameVersion, uploaded)).toMatchObject({ kind, reason: expect.stringMatching(reason) });
  });

  it("checks a source file arriving after the .dsc against what it lists", () => {
    const listing = dsc([ORIG, DEBIAN]);
    expect(listedFileProblem(listing, ORIG.filename, ORIG)).toBeNull();
    expect(listedFileProblem(listing, ORIG.filename, { ...ORIG, sha256: 'e'.repeat(64) })).toMatch(/has sha256 e{64}/);
    expect(listedFileProblem(listing, 'garnet-tool_1.0-1.diff.gz', ORIG)).toMatch(/garnet-tool_1\.0-1\.dsc does not list garnet-tool_1\.0-1\.diff\.gz/);
  });

  it('uploads the .dsc after every other file', () => {
    expect(uploadOrder(['garnet-tool_1.0-1.debian.tar.xz', 'garnet-tool_1.0-1.dsc', 'garnet-tool_1.0-1_amd64.deb', 'garnet-tool_1.0.orig.tar.gz'])).toEqual([
      'garnet-tool_1.0-1.debian.tar.xz', 'garnet-tool_1.0-1_amd64.deb', 'garnet-tool_1.0.orig.tar.gz', 'garnet-tool_1.0-1.dsc',
    ]);
  });
});
