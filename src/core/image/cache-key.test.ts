import { describe, expect, it } from 'vitest';
import { aptRepositoryPackages, packageClosure, pacmanRepositoryPackages, partitionKeyMaterial, type PartitionInputs, type RepositoryPackage } from './cache-key.js';
import type { ImagePartition } from './description.js';

const desc = (name: string, version: string, extra = '') => ({ path: `${name}-${version}/desc`, text: `%NAME%\n${name}\n\n%VERSION%\n${version}\n\n%FILENAME%\n${name}-${version}-x86_64.pkg.tar.zst\n\n%SHA256SUM%\n${name.length.toString(16).padStart(64, '0')}\n\n${extra}` });

const REPOSITORY = pacmanRepositoryPackages([
  desc('libquartz', '1.2.0-1', '%PROVIDES%\nlibquartz.so=1-64\n\n'),
  desc('libquartz-docs', '1.2.0-1'),
  desc('quartz-tool', '0.3.1-2', '%DEPENDS%\nlibquartz.so=1-64\nglibc>=2.36\n\n'),
  desc('quartz-meta', '1-1', '%DEPENDS%\nquartz-tool>=0.3\nlibquartz-docs\n\n'),
  desc('unrelated', '9-1'),
  { path: 'quartz-meta-1-1/files', text: '%FILES%\nusr/\n' },
]);

describe('partition cache keys', () => {
  it('reads a pacman database\'s desc entries', () => {
    expect(REPOSITORY.map((p) => [p.name, p.version, p.depends, p.provides])).toEqual([
      ['libquartz', '1.2.0-1', [], ['libquartz.so']],
      ['libquartz-docs', '1.2.0-1', [], []],
      ['quartz-meta', '1-1', ['quartz-tool', 'libquartz-docs'], []],
      ['quartz-tool', '0.3.1-2', ['libquartz.so', 'glibc'], []],
      ['unrelated', '9-1', [], []],
    ]);
  });

  it('follows dependencies and provides through the repository; the rest comes from the distribution', () => {
    const closure = packageClosure(REPOSITORY, ['quartz-meta', 'bash']);
    expect(closure.fromRepository.map((p) => p.name)).toEqual(['libquartz', 'libquartz-docs', 'quartz-meta', 'quartz-tool']);
    expect(closure.fromDistribution).toEqual(['bash', 'glibc']);
  });

  const root: ImagePartition = { label: 'root', size: -1, filesystem: 'ext4', packages: ['quartz-meta'], file: [{ path: '/etc/motd', text: 'hi' }] };
  const inputs = (over: Partial<PartitionInputs> = {}, partition = root): PartitionInputs => ({
    placed: { index: 1, partition, offset: 1 << 20, size: 60 << 20, type: 'L' }, table: 'gpt', arch: 'x86_64', mode: 'normal', installer: 'pacman',
    repository: REPOSITORY, artifacts: new Map(), distribution: 'base 1 / instance 1', ...over,
  });
  const bump = (name: string): RepositoryPackage[] => REPOSITORY.map((p) => (p.name === name ? { ...p, version: '9.9-1', sha256: 'f'.repeat(64) } : p));

  it('changes with what went in: a package of the closure, a file, the size, the distribution; not with an unrelated package', () => {
    const key = partitionKeyMaterial(inputs());
    expect(partitionKeyMaterial(inputs())).toBe(key);
    expect(partitionKeyMaterial(inputs({ repository: bump('libquartz') }))).not.toBe(key);
    expect(partitionKeyMaterial(inputs({ repository: bump('unrelated') }))).toBe(key);
    expect(partitionKeyMaterial(inputs({ distribution: 'base 2 / instance 1' }))).not.toBe(key);
    expect(partitionKeyMaterial(inputs({}, { ...root, file: [{ path: '/etc/motd', text: 'hello' }] }))).not.toBe(key);
    expect(partitionKeyMaterial({ ...inputs(), placed: { ...inputs().placed, size: 61 << 20 } })).not.toBe(key);
    // The caching mode of a partition is not part of what it holds.
    expect(partitionKeyMaterial(inputs({}, { ...root, cache: 'normal' }))).toBe(key);
  });

  it('keys aggressive partitions on the requested package names only', () => {
    const key = partitionKeyMaterial(inputs({ mode: 'aggressive' }));
    expect(partitionKeyMaterial(inputs({ mode: 'aggressive', repository: bump('libquartz'), distribution: 'other' }))).toBe(key);
    expect(partitionKeyMaterial(inputs({ mode: 'aggressive' }, { ...root, packages: ['quartz-tool'] }))).not.toBe(key);
  });

  it('keys an artifact by its checksum', () => {
    const withArtifact = { ...root, file: [{ path: '/boot/x', artifact: 'libquartz-1.2.0-1-x86_64.pkg.tar.zst' }] };
    const a = partitionKeyMaterial(inputs({ artifacts: new Map([['libquartz-1.2.0-1-x86_64.pkg.tar.zst', 'a'.repeat(64)]]) }, withArtifact));
    const b = partitionKeyMaterial(inputs({ artifacts: new Map([['libquartz-1.2.0-1-x86_64.pkg.tar.zst', 'b'.repeat(64)]]) }, withArtifact));
    expect(a).not.toBe(b);
  });

  const stanza = (name: string, version: string, extra = '') => `Package: ${name}\nVersion: ${version}\nArchitecture: amd64\n${extra}Filename: ./${name}_${version}_amd64.deb\nSize: 100\nSHA256: ${name.length.toString(16).padStart(64, 'a')}\n`;
  const APT = aptRepositoryPackages([
    stanza('libgarnet1', '1.2.0', 'Depends: libc6 (>= 2.34)\nProvides: libgarnet-abi-1\n'),
    stanza('garnet-tool', '1.0-1', 'Pre-Depends: dpkg (>= 1.15)\nDepends: libc6 (>= 2.34), libgarnet-abi-1 | libgarnet1 (>= 1.2.0)\n'),
    stanza('garnet-meta', '1.0', 'Depends: garnet-tool (>= 1.0)\n'),
    stanza('garnet-extra', '2'),
  ].join('\n'));

  it('reads an apt Packages file: names, versions, files without "./", dependencies with every alternative, provides', () => {
    expect(APT.map((p) => [p.name, p.version, p.filename, p.depends, p.provides])).toEqual([
      ['garnet-extra', '2', 'garnet-extra_2_amd64.deb', [], []],
      ['garnet-meta', '1.0', 'garnet-meta_1.0_amd64.deb', ['garnet-tool'], []],
      ['garnet-tool', '1.0-1', 'garnet-tool_1.0-1_amd64.deb', ['dpkg', 'libc6', 'libgarnet-abi-1', 'libgarnet1'], []],
      ['libgarnet1', '1.2.0', 'libgarnet1_1.2.0_amd64.deb', ['libc6'], ['libgarnet-abi-1']],
    ]);
    const closure = packageClosure(APT, ['garnet-meta']);
    expect(closure.fromRepository.map((p) => p.name)).toEqual(['garnet-meta', 'garnet-tool', 'libgarnet1']);
    expect(closure.fromDistribution).toEqual(['dpkg', 'libc6']);
    expect(() => aptRepositoryPackages('Package: x\nDepends: a (>> \n', 'repo Packages')).toThrow(/^repo Packages:2: Depends: /);
  });

  it('keys apt partitions on the distribution\'s state always: the tree is bootstrapped from its Essential set', () => {
    const meta: ImagePartition = { ...root, packages: ['garnet-meta'], file: [] };
    const aptInputs = (over: Partial<PartitionInputs> = {}) => inputs({ installer: 'apt', repository: APT, ...over }, { ...meta, packages: ['garnet-extra'] });
    const key = partitionKeyMaterial(aptInputs());
    expect(JSON.parse(key).packages).toMatchObject({ installer: 'apt', repository: [`garnet-extra 2 ${'a'.repeat(63)}c`], distribution: [], distributionState: 'base 1 / instance 1' });
    expect(partitionKeyMaterial(aptInputs({ distribution: 'base 2 / instance 1' }))).not.toBe(key);
    // The same packages from pacman, nothing from the distribution: its state is not part of the key.
    expect(partitionKeyMaterial(inputs({ installer: 'pacman', repository: APT, distribution: 'base 2 / instance 1' }, { ...meta, packages: ['garnet-extra'] }))).toBe(partitionKeyMaterial(inputs({ installer: 'pacman', repository: APT }, { ...meta, packages: ['garnet-extra'] })));
    expect(partitionKeyMaterial(aptInputs({ installer: 'pacman' }))).not.toBe(key);
  });
});
