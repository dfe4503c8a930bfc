import { describe, expect, it } from 'vitest';
import { archMatches, archView, builtFor, clausesFor, hasArchDependent, profilesApply, restrictionApplies } from './arch-view.js';
import type { DependencyClause } from './model.js';

describe('archMatches', () => {
  it.each([
    ['any', 'amd64', true],
    ['amd64', 'amd64', true],
    ['i386', 'amd64', false],
    ['linux-any', 'amd64', true],
    ['linux-any', 'hurd-i386', false],
    ['hurd-any', 'hurd-i386', true],
    ['any-amd64', 'amd64', true],
    ['any-amd64', 'kfreebsd-amd64', true],
    ['any-amd64', 'x32', true],
    ['any-amd64', 'i386', false],
    ['any-arm', 'armhf', true],
    ['any-arm', 'armel', true],
    ['any-arm', 'arm64', false],
    ['gnueabihf-any-any', 'armhf', false],
    ['eabihf-any-any-any', 'armhf', true],
    ['gnu-linux-any', 'amd64', true],
    ['musl-linux-any', 'amd64', false],
    ['musl-linux-any', 'musl-linux-amd64', true],
    ['kfreebsd-any', 'kfreebsd-amd64', true],
    ['all', 'amd64', false],
    ['any', 'all', false],
    ['all', 'all', true],
    ['linux-any', 'x86_64', true],
    ['any-loongarch64', 'loongarch64', true],
  ])('%s matches %s: %s', (pattern, arch, expected) => {
    expect(archMatches(pattern, arch)).toBe(expected);
  });
});

describe('restrictions and profiles', () => {
  it('reads positive and negated restrictions', () => {
    expect(restrictionApplies({ negated: false, arches: ['amd64', 'i386'] }, 'amd64')).toBe(true);
    expect(restrictionApplies({ negated: false, arches: ['i386'] }, 'amd64')).toBe(false);
    expect(restrictionApplies({ negated: true, arches: ['hurd-any', 'kfreebsd-any'] }, 'amd64')).toBe(true);
    expect(restrictionApplies({ negated: true, arches: ['linux-any'] }, 'amd64')).toBe(false);
    expect(restrictionApplies(undefined, 'amd64')).toBe(true);
  });

  it('evaluates a profile formula with none or some profiles active', () => {
    const none = new Set<string>();
    expect(profilesApply([['!nocheck']], none)).toBe(true);
    expect(profilesApply([['!nocheck']], new Set(['nocheck']))).toBe(false);
    expect(profilesApply([['stage1', 'cross']], none)).toBe(false);
    expect(profilesApply([['!nocheck'], ['stage1', 'cross']], new Set(['nocheck', 'stage1']))).toBe(false);
    expect(profilesApply([['!nocheck'], ['stage1', 'cross']], new Set(['nocheck', 'stage1', 'cross']))).toBe(true);
  });

  it('drops atoms that do not apply and clauses left empty', () => {
    const clauses: DependencyClause[] = [
      [{ name: 'libc6' }],
      [{ name: 'libselinux1-dev', arches: { negated: false, arches: ['linux-any'] } }],
      [{ name: 'libhurd-dev', arches: { negated: false, arches: ['hurd-any'] } }],
      [{ name: 'a', arches: { negated: false, arches: ['i386'] } }, { name: 'b' }],
      [{ name: 'python3-pytest', profiles: [['!nocheck']] }],
    ];
    expect(clausesFor(clauses, archView('amd64')).map((c) => c.map((a) => a.name))).toEqual([['libc6'], ['libselinux1-dev'], ['b'], ['python3-pytest']]);
    expect(clausesFor(clauses, archView('hurd-i386', ['nocheck'])).map((c) => c.map((a) => a.name))).toEqual([['libc6'], ['libhurd-dev'], ['b']]);
  });
});

describe('package architectures', () => {
  it('builds any, all, wildcards and listed architectures', () => {
    expect(builtFor(['any'], 'amd64')).toBe(true);
    expect(builtFor(['all'], 'amd64')).toBe(true);
    expect(builtFor(['linux-any'], 'hurd-i386')).toBe(false);
    expect(builtFor(['amd64', 'arm64'], 'arm64')).toBe(true);
    expect(builtFor(['i386'], 'amd64')).toBe(false);
    expect(builtFor(['x86_64'], 'x86_64')).toBe(true);
  });

  it('tells architecture-dependent output from `all`', () => {
    expect(hasArchDependent(['all'], 'amd64')).toBe(false);
    expect(hasArchDependent(['any', 'all'], 'amd64')).toBe(true);
    expect(hasArchDependent(['i386', 'all'], 'amd64')).toBe(false);
  });
});
