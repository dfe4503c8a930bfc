import { describe, expect, it } from 'vitest';
import { archView } from '../recipe/arch-view.js';
import { clauses, dep, indexed, provide } from '../../../test/support/universe-builder.js';
import { reverseClosure, UnknownBinaryError } from './reverse-closure.js';
import { ReverseIndex } from './reverse-index.js';

const any = { archQualifier: 'any' };
const index = ReverseIndex.of(
  {
    flavour: 'debian',
    sources: [],
    binaries: [
      indexed('debian', 'zlib1g', '1:1.2.13.dfsg-1', { source: 'zlib' }),
      indexed('debian', 'libfoo1', '1.0-1', { depends: clauses(dep('zlib1g', '>=', '1:1.2')) }),
      indexed('debian', 'libbar1', '1.0-1', { depends: clauses(dep('zlib1g', '>=', '1:2')) }),
      indexed('debian', 'app', '1.0-1', { depends: clauses([dep('libbaz1'), dep('libfoo1')]) }),
      indexed('debian', 'mawk', '1.3.4-1', { provides: [provide('awk')], preDepends: clauses('zlib1g') }),
      indexed('debian', 'uses-awk', '1', { depends: clauses('awk') }),
      indexed('debian', 'needs-app', '1', { preDepends: clauses('app') }),
      indexed('debian', 'python3', '3.11.2-1', { multiArch: 'allowed', depends: clauses('zlib1g') }),
      indexed('debian', 'python3-foo', '1', { depends: clauses(dep('python3', undefined, undefined, any)) }),
      indexed('debian', 'perl', '5.36.0-7', { depends: clauses('zlib1g') }),
      indexed('debian', 'perl-any-user', '1', { depends: clauses(dep('perl', undefined, undefined, any)) }),
      indexed('debian', 'i386-only-dep', '1', { depends: clauses(dep('zlib1g', undefined, undefined, { arches: { negated: false, arches: ['i386'] } })) }),
      indexed('debian', 'unrelated', '1', { depends: clauses('libbar1') }),
    ],
  },
  archView('amd64'),
);

describe('reverseClosure', () => {
  it('follows Depends and Pre-Depends through alternatives, provides, versions and :any', () => {
    const closure = reverseClosure(index, ['zlib1g']);
    expect(closure.members.map((m) => m.name)).toEqual(['app', 'libfoo1', 'mawk', 'needs-app', 'perl', 'python3', 'python3-foo', 'uses-awk', 'zlib1g']);
  });

  it('says through which dependency each member came in', () => {
    const members = new Map(reverseClosure(index, ['zlib1g']).members.map((m) => [m.name, m]));
    expect(members.get('zlib1g')!.via).toBeUndefined();
    expect(members.get('uses-awk')!.via).toEqual({ name: 'mawk', atom: dep('awk') });
    expect(members.get('needs-app')!.via!.name).toBe('app');
  });

  it('starts from the providers of a virtual name, and rejects unknown names', () => {
    expect(reverseClosure(index, ['awk']).members.map((m) => m.name)).toEqual(['mawk', 'uses-awk']);
    expect(() => reverseClosure(index, ['zlib1g', 'nosuch', 'nothing'])).toThrow(new UnknownBinaryError(['nosuch', 'nothing']));
  });
});
