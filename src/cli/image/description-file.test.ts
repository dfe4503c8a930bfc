import { afterEach, describe, expect, it } from 'vitest';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadImageDescription } from './description-file.js';

const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

describe('image description files', () => {
  it('reads the example images: the Arch one and the Debian one, each with the ESP of esp.toml', () => {
    const examples = resolve(import.meta.dirname, '../../../examples/images');
    const shape = (file: string) => {
      const image = loadImageDescription(join(examples, file));
      return [image.label, image.size, image.partition.map((p) => [p.label, p.filesystem, p.packages])];
    };
    expect(shape('quartz.toml')).toEqual(['quartz', 96, [['ESP', 'vfat', []], ['root', 'ext4', ['quartz-meta']]]]);
    expect(shape('garnet.toml')).toEqual(['garnet', 320, [['ESP', 'vfat', []], ['root', 'ext4', ['garnet-meta']]]]);
  });

  it('reads includes relative to the including file, through several levels', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'quarters-image-desc-'));
    dirs.push(dir);
    await mkdir(join(dir, 'parts'));
    await writeFile(join(dir, 'parts', 'disk.toml'), '[image]\nlabel = "base"\nsize = 32\n');
    await writeFile(join(dir, 'parts', 'esp.toml'), 'include = ["disk.toml"]\n[[image.partition]]\nlabel = "ESP"\nsize = 8\nfilesystem = "vfat"\n');
    await writeFile(join(dir, 'top.toml'), 'include = ["parts/esp.toml"]\n[image]\nlabel = "top"\n');
    const image = loadImageDescription(join(dir, 'top.toml'));
    expect([image.label, image.size, image.partition.map((p) => p.label)]).toEqual(['top', 32, ['ESP']]);
  });

  it('refuses an include cycle and a missing include, naming the file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'quarters-image-desc-'));
    dirs.push(dir);
    await writeFile(join(dir, 'a.toml'), 'include = ["b.toml"]\n');
    await writeFile(join(dir, 'b.toml'), 'include = ["a.toml"]\n');
    expect(() => loadImageDescription(join(dir, 'a.toml'))).toThrow(/b\.toml: include\.0: a\.toml includes this file again \(an include cycle\)$/);
    await writeFile(join(dir, 'c.toml'), 'include = ["gone.toml"]\n');
    expect(() => loadImageDescription(join(dir, 'c.toml'))).toThrow(/gone\.toml: cannot read the image description: ENOENT$/);
  });
});
