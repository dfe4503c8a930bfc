/** The recipe helper's .SRCINFO is what makepkg itself writes for its PKGBUILD: the server plans with the metadata the build has. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { archBundleFiles, type ArchRecipe } from './arch-recipe.js';
import { reportSkip } from './capabilities.js';
import { makepkgSkipReason, printSrcinfo } from './makepkg.js';

const skip = reportSkip(makepkgSkipReason(), 'arch-recipe against makepkg --printsrcinfo');

describe.skipIf(skip)('archBundleFiles', () => {
  const dir = mkdtempSync(join(tmpdir(), 'quarters-arch-recipe-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const cases: ArchRecipe[] = [
    { pkgbase: 'qa', package: ['echo qa > "$pkgdir/qa"'] },
    { pkgbase: 'qb', version: '2.1-3', arch: 'x86_64', depends: ['qa', 'zlib>=1.3'], makedepends: ['cmake'], build: ['true'], package: [':'] },
  ];
  it.each(cases)('writes the .SRCINFO makepkg writes for $pkgbase', async (recipe) => {
    const files = archBundleFiles(recipe);
    const bundle = join(dir, recipe.pkgbase);
    mkdirSync(bundle);
    writeFileSync(join(bundle, 'PKGBUILD'), files.PKGBUILD);
    expect(files['.SRCINFO']).toBe(await printSrcinfo(bundle));
  });
});
