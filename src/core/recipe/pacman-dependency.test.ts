import { describe, expect, it } from 'vitest';
import { parsePacmanDependency, parsePacmanProvide } from './pacman-dependency.js';

describe('parsePacmanDependency', () => {
  it.each([
    ['glibc', { name: 'glibc' }],
    ['glibc>=2.38', { name: 'glibc', constraint: { op: '>=', version: '2.38' } }],
    ['glibc<=2.38-1', { name: 'glibc', constraint: { op: '<=', version: '2.38-1' } }],
    ['python<3.13', { name: 'python', constraint: { op: '<', version: '3.13' } }],
    ['python>3', { name: 'python', constraint: { op: '>', version: '3' } }],
    ['gdb-common=1:14.2-1', { name: 'gdb-common', constraint: { op: '=', version: '1:14.2-1' } }],
    ['libfoo.so=1-64', { name: 'libfoo.so', constraint: { op: '=', version: '1-64' } }],
    ['kde-cli-tools: file deletion support (kioclient5)', { name: 'kde-cli-tools' }],
    ['qt6-base>=6.5: enable Qt6 with --enable-features=AllowQt', { name: 'qt6-base', constraint: { op: '>=', version: '6.5' } }],
  ])('reads %j', (text, dependency) => {
    expect(parsePacmanDependency(text)).toEqual({ ok: true, dependency });
  });

  it('keeps the name of a dependency whose version is missing or unreadable', () => {
    expect(parsePacmanDependency('guile>=')).toEqual({ ok: false, reason: "dependency 'guile>=' has an operator but no version", unversioned: { name: 'guile' } });
    const bad = parsePacmanDependency('foo>=1.0-x');
    expect(bad.ok).toBe(false);
    if (!bad.ok) {
      expect(bad.reason).toContain("pkgrel must be of the form 'integer[.integer]'");
      expect(bad.unversioned).toEqual({ name: 'foo' });
    }
  });

  it('refuses dependencies without a name or with blanks', () => {
    expect(parsePacmanDependency('>=1.0')).toEqual({ ok: false, reason: "dependency '>=1.0' has no package name" });
    expect(parsePacmanDependency('')).toEqual({ ok: false, reason: "dependency '' has no package name" });
    expect(parsePacmanDependency('foo >= 1.0')).toEqual({ ok: false, reason: "dependency 'foo >= 1.0' contains blanks" });
  });
});

describe('parsePacmanProvide', () => {
  it('reads plain and versioned provides', () => {
    expect(parsePacmanProvide('sh')).toEqual({ ok: true, provide: { name: 'sh' } });
    expect(parsePacmanProvide('libfoo.so=1-64')).toEqual({ ok: true, provide: { name: 'libfoo.so', version: '1-64' } });
  });

  it('refuses an operator other than = and keeps the bare name', () => {
    expect(parsePacmanProvide('foo>=1')).toEqual({ ok: false, reason: "provides 'foo>=1' may only use '=' for a version, not '>='", unversioned: { name: 'foo' } });
    expect(parsePacmanProvide('=1')).toEqual({ ok: false, reason: "provides '=1' has no package name" });
  });
});
