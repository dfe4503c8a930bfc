/** Reading an image description and the files it includes (paths relative to the including file). */
import { readFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { ConfigError, parseTomlText } from '../../core/config-text.js';
import { fileKeys, resolveDescription, type DescriptionFile, type ImageDescription } from '../../core/image/description.js';

function readDescriptionFile(path: string, shownAs: string, chain: readonly string[]): DescriptionFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(shownAs, null, `cannot read the image description: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  const value = parseTomlText(text, shownAs);
  const { include } = fileKeys(value, shownAs);
  const includes = include.map((name, i) => {
    const target = resolve(dirname(path), name);
    if (chain.includes(target) || target === path) throw new ConfigError(shownAs, `include.${i}`, `${name} includes this file again (an include cycle)`);
    return readDescriptionFile(target, relative(process.cwd(), target) || target, [...chain, path]);
  });
  return { file: shownAs, value, includes };
}

/** The description at `file` with its includes, merged and validated; problems are ConfigErrors naming the file and key. */
export function loadImageDescription(file: string): ImageDescription {
  return resolveDescription(readDescriptionFile(resolve(file), file, []));
}
