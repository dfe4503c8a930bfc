import { describe, expect, it } from 'vitest';
import { archView } from '../recipe/arch-view.js';
import { clauses, dep, indexed, provide } from '../../../test/support/universe-builder.js';
import { ReverseIndex, ReverseIndexBuilder } from './reverse-index.js';

const i386 = { arches: { negated: false, arches: ['i386'] } };
const universe = {
  flavour: 'debian' as const,
  sources: [],
  binaries: [
    indexed('debian', 'a', '1', { depends: clauses([dep('awk'), dep('mawk')]) }),
    indexed('debian', 'b', '1', { preDepends: clauses('awk'), depends: clauses(dep('x', undefined, undefined, i386)) }),
    indexed('debian', 'mawk', '1', { provides: [provide('awk'), { name: 'awk-i386', arches: i386.arches }] }),
    indexed('debian', 'gawk', '1:5.2.1-2', { provides: [provide('awk', '1:5.2.1-2')], multiArch: 'foreign' }),
    indexed('debian', 'arm-only', '1', { architectures: ['arm64'], depends: clauses('awk') }),
  ],
};
const index = ReverseIndex.of(universe, archView('amd64'));
const ids = (list: ArrayLike<number>) => Array.from(list, (id) => index.name(id));

describe('ReverseIndex', () => {
  it('numbers the binaries of the architecture by name, then version', () => {
    expect(Array.from({ length: index.size }, (_, id) => `${index.name(id)} ${index.version(id)}`)).toEqual(['a 1', 'b 1', 'gawk 1:5.2.1-2', 'mawk 1']);
  });

  it('lists the atoms that ask for a name, Pre-Depends first, leaving out those that do not apply', () => {
    const awk = index.mentions(index.slotOf('awk'));
    expect(ids(awk.binaries.subarray(awk.from, awk.to))).toEqual(['a', 'b']);
    expect(awk.atoms.slice(awk.from, awk.to)).toEqual([dep('awk'), dep('awk')]);
    const x = index.mentions(index.slotOf('x'));
    expect(x.to - x.from).toBe(0);
    expect(index.slotOf('nosuch')).toBe(-1);
  });

  it('finds binaries by name and by provide, on the architecture only', () => {
    expect(ids(index.named('mawk'))).toEqual(['mawk']);
    expect(ids(index.providers('awk'))).toEqual(['gawk', 'mawk']);
    expect(ids(index.providers('awk-i386'))).toEqual([]);
    expect(ids(index.named('arm-only'))).toEqual([]);
    const mawk = index.named('mawk')[0]!;
    expect(index.namesOf(mawk)).toEqual([index.slotOf('mawk'), index.slotOf('awk')]);
  });

  it('checks versions of names and provides, and :any against Multi-Arch', () => {
    const [gawk] = index.named('gawk');
    const [mawk] = index.named('mawk');
    expect(index.satisfies(gawk!, dep('awk', '>=', '1:5'))).toBe(true);
    expect(index.satisfies(mawk!, dep('awk', '>=', '1:5'))).toBe(false);
    expect(index.satisfies(mawk!, dep('awk'))).toBe(true);
    expect(index.satisfies(gawk!, dep('gawk', '<', '1:5'))).toBe(false);
    expect(index.satisfies(gawk!, dep('awk', undefined, undefined, { archQualifier: 'any' }))).toBe(true);
    expect(index.satisfies(mawk!, dep('awk', undefined, undefined, { archQualifier: 'any' }))).toBe(false);
    expect(index.satisfies(mawk!, dep('awk-i386'))).toBe(false);
  });

  it('takes binaries in any order and gives the same index', () => {
    const builder = new ReverseIndexBuilder('debian');
    for (const binary of [...universe.binaries].reverse()) builder.add(binary.name, binary.version.text, binary.source, binary);
    const reversed = builder.build(archView('amd64'));
    expect(Array.from({ length: reversed.size }, (_, id) => reversed.name(id))).toEqual(['a', 'b', 'gawk', 'mawk']);
    const awk = reversed.mentions(reversed.slotOf('awk'));
    expect(Array.from(awk.binaries.subarray(awk.from, awk.to), (id) => reversed.name(id))).toEqual(['a', 'b']);
    expect(builder.architectures()).toHaveLength(5);
    expect(builder.build(archView('arm64')).named('arm-only')).toHaveLength(1);
  });
});
