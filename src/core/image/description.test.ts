import { describe, expect, it } from 'vitest';
import { ConfigError, parseTomlText } from '../config-text.js';
import { fileKeys, resolveDescription, type DescriptionFile } from './description.js';

/** A description file from TOML text, with its includes (already "read"). */
function file(name: string, text: string, includes: DescriptionFile[] = []): DescriptionFile {
  const value = parseTomlText(text, name);
  fileKeys(value, name);
  return { file: name, value, includes };
}

const BASE = `
[image]
label = "demo"
size = 64

[[image.partition]]
label = "ESP"
size = 16
type = "efi"
filesystem = "vfat"

[[image.partition.file]]
path = "/hello.txt"
text = "hello\\n"

[[image.partition]]
label = "root"
size = -1
filesystem = "ext4"
packages = ["quartz-meta"]
`;

function errorOf(run: () => unknown): ConfigError {
  try {
    run();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('no error');
}

describe('image descriptions', () => {
  it('reads a description with its defaults', () => {
    const image = resolveDescription(file('a.toml', BASE));
    expect(image).toMatchObject({ label: 'demo', size: 64, format: 'raw', table: 'gpt', cache: 'normal' });
    expect(image.partition.map((p) => [p.label, p.size, p.filesystem, p.packages])).toEqual([['ESP', 16, 'vfat', []], ['root', -1, 'ext4', ['quartz-meta']]]);
    expect(image.partition[0]!.file).toEqual([{ path: '/hello.txt', text: 'hello\n' }]);
  });

  it('merges includes under the including file: partitions by label, file entries by path', () => {
    const base = file('base.toml', `${BASE}\n[[image.partition.file]]\npath = "/etc/motd"\ntext = "base"\n`);
    const top = file('top.toml', `
include = ["base.toml"]
[image]
size = 128
format = "qcow2"
[[image.partition]]
label = "root"
size = -4
filesystem = "ext4"
packages = ["quartz-tool"]
[[image.partition.file]]
path = "/etc/motd"
text = "top"
[[image.partition]]
label = "data"
size = 8
filesystem = "none"
`, [base]);
    const image = resolveDescription(top);
    expect([image.label, image.size, image.format]).toEqual(['demo', 128, 'qcow2']);
    expect(image.partition.map((p) => p.label)).toEqual(['ESP', 'root', 'data']);
    const root = image.partition[1]!;
    expect([root.size, root.packages]).toEqual([-4, ['quartz-tool']]);
    expect(root.file).toEqual([{ path: '/etc/motd', text: 'top' }]);
  });

  it('checks what an included file requires of the including one', () => {
    const base = file('base.toml', 'requires = ["image.size"]\n[image]\nlabel = "x"\n[[image.partition]]\nlabel = "root"\nsize = -1\nfilesystem = "ext4"\n');
    const error = errorOf(() => resolveDescription(file('top.toml', 'include = ["base.toml"]\n', [base])));
    expect(error.message).toBe('top.toml: image.size: required by base.toml, which this description includes; set it');
    expect(resolveDescription(file('top.toml', 'include = ["base.toml"]\n[image]\nsize = 32\n', [base])).size).toBe(32);
  });

  it.each([
    ['a file entry with two contents', `${BASE}[[image.partition.file]]\npath = "/x"\ntext = "a"\nsymlink = "b"\n`, 'a.toml: image.partition.1.file.0: give exactly one of text, symlink, artifact, shell (this one has text and symlink)'],
    ['a file entry with none', `${BASE}[[image.partition.file]]\npath = "/x"\n`, 'a.toml: image.partition.1.file.0: give exactly one of text, symlink, artifact, shell'],
    ['an unknown filesystem', BASE.replace('"vfat"', '"btrfs"'), 'a.toml: image.partition.0.filesystem: Invalid option: expected one of "ext4"|"vfat"|"none"'],
    ['a relative path', BASE.replace('/hello.txt', 'hello.txt'), 'a.toml: image.partition.0.file.0.path: a path inside the partition is absolute ("/dir/name") with no empty, "." or ".." components'],
    ['a path with ..', BASE.replace('/hello.txt', '/a/../b'), 'a.toml: image.partition.0.file.0.path: a path inside the partition is absolute ("/dir/name") with no empty, "." or ".." components'],
    ['packages on vfat', BASE.replace('type = "efi"', 'type = "efi"\npackages = ["x"]'), 'a.toml: image.partition.0.packages: packages go into an ext4 partition: vfat keeps no owners, modes or links'],
    ['an unknown key', BASE.replace('size = 64', 'size = 64\nsizes = 3'), 'a.toml: image: unknown key "sizes"'],
    ['an unknown partition key', BASE.replace('type = "efi"', 'type = "efi"\nfs = "vfat"'), 'a.toml: image.partition.0: unknown key "fs"'],
    ['a zero size', BASE.replace('size = 16', 'size = 0'), 'a.toml: image.partition.0.size: a size is a number of MiB, or a negative one: the rest of the disk minus that many'],
  ])('refuses %s with one error naming the file and key', (_what, text, message) => {
    expect(errorOf(() => resolveDescription(file('a.toml', text))).message).toBe(message);
  });

  it('names the included file a bad partition came from', () => {
    const base = file('base.toml', '[image]\nlabel = "x"\nsize = 8\n[[image.partition]]\nlabel = "root"\nsize = -1\nfilesystem = "zfs"\n');
    const error = errorOf(() => resolveDescription(file('top.toml', 'include = ["base.toml"]\n', [base])));
    expect([error.file, error.key]).toEqual(['base.toml', 'image.partition.0.filesystem']);
  });
});
