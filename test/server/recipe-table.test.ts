/**
 * The recipes table hands out an unchanged recipe as the same object: the server's planner keeps
 * its dependency graphs across iterations and updates them only for recipes that are new objects.
 */
import { describe, expect, it } from 'vitest';
import { KeptGraphs } from '../../src/core/graph/kept-graphs.js';
import { RecipeTable, type IndexedRecipe } from '../../src/server/sources/source-index.js';
import { openDatabase } from '../../src/server/store/database.js';
import { binary, clauses, source } from '../support/universe-builder.js';
import { tempDir } from './http-harness.js';

const row = (pkgbase: string, recipe: IndexedRecipe['recipe'], extra: Partial<IndexedRecipe> = {}): IndexedRecipe => ({
  pkgbase, branch: 'main', projectId: 1, projectPath: `packages/${pkgbase}`, dir: pkgbase, sha: 'a'.repeat(40), isDefault: true, recipe, ...extra,
});

describe('RecipeTable', () => {
  it('reads an unchanged recipe as the same object, a changed one as a new object with its new text', () => {
    const db = openDatabase(tempDir());
    try {
      const table = new RecipeTable(db);
      table.put(row('zlib', source('pkgbuild', 'zlib', '1.3-1')));
      table.put(row('curl', source('pkgbuild', 'curl', '8.11-1', { binaries: [binary('curl', { depends: clauses('zlib') })] })));
      table.put(row('hello', source('pkgbuild', 'hello', '2.12-1')));
      const first = new Map(table.defaults().map((r) => [r.pkgbase, r.recipe]));
      table.put(row('zlib', source('pkgbuild', 'zlib', '1.3.1-1'), { sha: 'b'.repeat(40) }));
      const second = new Map(table.defaults().map((r) => [r.pkgbase, r.recipe]));
      expect(second.get('curl')).toBe(first.get('curl'));
      expect(second.get('zlib')).not.toBe(first.get('zlib'));
      expect(second.get('zlib')!.version.text).toBe('1.3.1-1');
      // The same object through the single-recipe reads too, for the default branch.
      expect(table.getDefault('curl')!.recipe).toBe(first.get('curl'));
      expect(table.get('curl', 'main')!.recipe).toBe(first.get('curl'));

      // A planner keeping graphs over these universes resolves again only what the new zlib touches (zlib, curl; not hello).
      const kept = new KeptGraphs();
      kept.graphFor({ flavour: 'pkgbuild', sources: [...first.values()] }, 'x86_64');
      const graph = kept.graphFor({ flavour: 'pkgbuild', sources: [...second.values()] }, 'x86_64');
      expect(graph.resolvedSources).toBe(2);
      expect(graph.sourceIds.size).toBe(3);
    } finally {
      db.close();
    }
  });

  it('forgets a removed recipe: written again with the same text, it is read as a new object', () => {
    const db = openDatabase(tempDir());
    try {
      const table = new RecipeTable(db);
      const zlib = row('zlib', source('pkgbuild', 'zlib', '1.3-1'));
      table.put(zlib);
      const before = table.defaults()[0]!.recipe;
      table.removeAt(1, 'zlib', 'main');
      expect(table.defaults()).toEqual([]);
      table.put(zlib);
      const after = table.defaults()[0]!.recipe;
      expect(after).toEqual(before);
      expect(after).not.toBe(before);
    } finally {
      db.close();
    }
  });
});
