/**
 * The documentation against the code: README.md and docs/*.md, every command of their shell blocks and
 * every inline command line checked against the `quarters` command tree (src/cli/program.ts), the built
 * executor's `--help`, package.json's scripts and the repository's files; every ```toml server|executor|client
 * block validated with the real schema (```toml image blocks with the image description parser); every
 * relative link and anchor resolved; the config keys and the build driver's variables in the reference
 * complete. Negative cases show that each check can fail.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { execFileSync } from 'node:child_process';
import { createProgram } from '../src/cli/program.js';
import { clientConfigSchema } from '../src/cli/client/config-file.js';
import { SERVER_SECRET_KEYS, serverConfigSchema } from '../src/core/server-config.js';
import { EXECUTOR_SECRET_KEYS, executorConfigSchema } from '../src/executor/config.js';
import { checkPage, codeBlocks, parsePage, shellCommands, type DocsContext, type Page } from './support/docs-check.js';

const REPO = resolve(import.meta.dirname, '..');
const EXECUTOR = join(REPO, 'dist/executor/quarters-executor.cjs');
const PAGES = ['README.md', ...readdirSync(join(REPO, 'docs')).filter((f) => f.endsWith('.md')).sort().map((f) => `docs/${f}`)];
const READER_PAGES = ['docs/packager.md', 'docs/administrator.md', 'docs/reference.md', 'docs/architecture.md', 'docs/performance.md'];

function docsContext(): DocsContext {
  if (!existsSync(EXECUTOR)) throw new Error(`${EXECUTOR} is missing: run npm run build first (npm test does)`);
  const driverHelp = execFileSync('bash', [join(REPO, 'vm/quarters-build'), 'help'], { encoding: 'utf8' });
  const driverCommands = /usage: quarters-build \[([^\]]+)\]/.exec(driverHelp)?.[1]?.split('|');
  if (!driverCommands) throw new Error(`vm/quarters-build help printed no usage line:\n${driverHelp}`);
  return {
    repo: REPO,
    quarters: createProgram({ code: 0 }),
    executorUsage: execFileSync('node', [EXECUTOR, '--help'], { encoding: 'utf8' }),
    driverCommands,
    npmScripts: new Set(Object.keys((JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts)),
    topLevel: new Set(readdirSync(REPO).filter((name) => name !== 'node_modules' && name !== '.git')),
    configs: {
      server: { schema: serverConfigSchema, secretKeys: SERVER_SECRET_KEYS, minimal: { public_url: 'http://127.0.0.1:8080', data_dir: '/var/lib/quarters', build: { flavour: 'pkgbuild', architectures: ['x86_64'] } } },
      executor: { schema: executorConfigSchema, secretKeys: EXECUTOR_SECRET_KEYS, minimal: {} },
      client: { schema: clientConfigSchema, secretKeys: ['token'], minimal: {} },
    },
  };
}

const page = (file: string): Page => parsePage(file, readFileSync(join(REPO, file), 'utf8'));

/** Dotted leaf keys of a zod object schema (classic or mini): `limits.memory_mib`. */
function schemaKeys(schema: unknown, prefix = ''): string[] {
  let def = (schema as { _zod: { def: { type: string; innerType?: unknown; in?: unknown; shape?: Record<string, unknown> } } })._zod.def;
  while (def.innerType || def.type === 'pipe') def = ((def.innerType ?? def.in) as { _zod: { def: typeof def } })._zod.def;
  if (def.type !== 'object' || !def.shape) return [prefix];
  return Object.entries(def.shape).flatMap(([key, value]) => schemaKeys(value, prefix ? `${prefix}.${key}` : key));
}

/** The text of a page between a `## heading` and the next one. */
function section(text: string, heading: string): string {
  const start = text.indexOf(`\n## ${heading}\n`);
  if (start < 0) throw new Error(`no section "## ${heading}"`);
  const end = text.indexOf('\n## ', start + 1);
  return text.slice(start, end < 0 ? undefined : end);
}

describe('the documentation', () => {
  let ctx: DocsContext;
  beforeAll(() => {
    ctx = docsContext();
  });

  it.each(PAGES)('%s: its commands exist, its config blocks validate and its links resolve', (file) => {
    const outside: string[] = [];
    expect(checkPage(page(file), ctx, outside)).toEqual([]);
    if (outside.length) process.stderr.write(`NOT CHECKED (../shared is not beside the repository): ${outside.join('; ')}\n`);
  });

  it('keeps the README to the quick start and links every page; each page links back and to the others', () => {
    const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
    expect(codeBlocks(page('README.md')).map((b) => shellCommands(b.text))).toEqual([[['scripts/quickstart'], ['npm', 'test']]]);
    for (const file of READER_PAGES) {
      expect(readme).toContain(`](${file})`);
      const header = readFileSync(join(REPO, file), 'utf8').split('\n').slice(0, 4).join('\n');
      expect(header).toContain('](../README.md)');
      for (const other of READER_PAGES.filter((o) => o !== file)) expect(header, `${file} links ${other} in its header`).toContain(`](${other.slice('docs/'.length)})`);
    }
  });

  it('lists every key of the server and executor configs in the reference', () => {
    const reference = readFileSync(join(REPO, 'docs/reference.md'), 'utf8');
    const serverBlock = codeBlocks(page('docs/reference.md')).find((b) => b.info.join(' ') === 'toml server');
    expect(serverBlock, 'a toml server block in docs/reference.md').toBeDefined();
    // Keys as the block gives them: `[table]` headers, `key =` lines (commented-out ones too), `<key>_file` for a secret.
    const given = new Set<string>();
    let table = '';
    for (const line of serverBlock!.text.split('\n')) {
      // `[repositories.NAME]` is one entry of a table keyed by name; `[[images]]`, an array of tables, gives its key too.
      const header = /^\[\[?([a-z_]+)(\.[a-z0-9_-]+)?\]/.exec(line);
      if (header) {
        table = header[1]!;
        given.add(table);
      }
      const key = /^#?\s*([a-z_]+)\s*=/.exec(line)?.[1];
      for (const k of key ? [key, key.replace(/_file$/, '')] : []) given.add(table ? `${table}.${k}` : k);
    }
    expect(schemaKeys(serverConfigSchema).filter((k) => !given.has(k))).toEqual([]);
    const executorSection = section(reference, 'Executor config');
    expect(schemaKeys(executorConfigSchema).filter((k) => !executorSection.includes(`| \`${k}\` |`))).toEqual([]);
  });

  it('lists exactly the variables vm/quarters-build help names in the reference', () => {
    const help = execFileSync('bash', [join(REPO, 'vm/quarters-build'), 'help'], { encoding: 'utf8' });
    const named = new Set([...help.matchAll(/\b(QUARTERS_[A-Z_]+)/g)].map((m) => m[1]!));
    const table = readFileSync(join(REPO, 'docs/reference.md'), 'utf8').split('### The build driver\'s variables')[1]!.split('\n## ')[0]!;
    const documented = new Set([...table.matchAll(/^\| `(QUARTERS_[A-Z_]+)`(?:, `(QUARTERS_[A-Z_]+)`)?/gm)].flatMap((m) => [m[1]!, m[2]].filter((v): v is string => !!v)));
    expect([...documented].sort()).toEqual([...named].sort());
  });
});

describe('the documentation checks fail on what is wrong', () => {
  let ctx: DocsContext;
  beforeAll(() => {
    ctx = docsContext();
  });
  const problems = (text: string) => checkPage(parsePage('docs/sample.md', text), ctx);
  const sh = (body: string) => `\`\`\`sh\n${body}\n\`\`\`\n`;

  it('passes a sample that is right', () => {
    expect(problems([
      '# Sample', '', '## A section', '',
      sh('quarters ns show mine --arch x86_64 --server http://localhost:8080 --json\nquarters build ./a ./b --jobs 2 --cycle-rebuild once\nquarters-executor cleanup --stale --older-than 60\nnpm run bench:graph -- --runs 7 && npx vitest run test/docs.test.ts\neval "$(quarters completion bash)"\nscripts/quickstart > /tmp/quickstart.log 2>&1'),
      '```toml server partial\n[build]\ncycle_rebuild = "once"\n```', '',
      '```toml executor\n[limits]\ndisk_mib = 0\n```', '',
      '```toml image\n[image]\nlabel = "sample"\nsize = 64\n\n[[image.partition]]\nlabel = "root"\nsize = -1\nfilesystem = "ext4"\n```', '',
      'Inline: `quarters ns cancel|resume|retry NAME [PKGBASE…]`, `quarters-executor baseos load --tarball FILE`, `bench/graph.js`; [up](#a-section), [the reference](reference.md#server-config).',
    ].join('\n'))).toEqual([]);
  });

  it.each([
    ['a made-up quarters subcommand', sh('quarters frobnicate --now'), 'quarters has no subcommand "frobnicate"'],
    ['a made-up nested subcommand', sh('quarters ns frob mine'), 'quarters ns has no subcommand "frob"'],
    ['a made-up option', sh('quarters ns list --frob'), 'quarters ns list has no option --frob'],
    ['an option without its value', sh('quarters build ./a --jobs'), 'quarters build --jobs wants a value'],
    ['a value outside the choices', sh('quarters build ./a --cycle-rebuild twice'), 'takes none, once, not "twice"'],
    ['a missing argument', sh('quarters ns show'), 'quarters ns show wants 1 argument(s), got 0'],
    ['a command without its subcommand', sh('quarters ns'), 'quarters ns needs a subcommand'],
    ['a made-up executor command', sh('quarters-executor baseos frob'), 'no such form in quarters-executor --help'],
    ['a made-up executor flag', sh('quarters-executor cleanup --stale --hard'), 'no such form'],
    ['a missing npm script', sh('npm run bench:nothing'), 'package.json has no such script'],
    ['a missing script file', sh('scripts/make-everything --now'), 'scripts/make-everything: no such file in the repository'],
    ['a missing test file', sh('npx vitest run test/nothing.test.ts'), 'test/nothing.test.ts: no such file in the repository'],
    ['an unknown program', sh('frobnicate --all'), 'frobnicate: an unknown program'],
    ['a made-up command in a substitution', sh('eval "$(quarters completions bash)"'), 'quarters has no subcommand "completions"'],
    ['an inline made-up subcommand', 'Run `quarters ns frobnicate NAME`.', 'quarters ns has no subcommand "frobnicate"'],
    ['an inline made-up option', 'Run `quarters graph plan --form srcinfo:x`.', 'quarters graph plan has no option --form'],
    ['an inline missing file', 'See `src/core/nothing-here.ts`.', 'src/core/nothing-here.ts: no such file in the repository'],
    ['a server config with a bad value', '```toml server partial\n[build]\nflavour = "rpm"\n```', 'build.flavour'],
    ['a server config with an unknown key', '```toml server\npublic_url = "http://q"\ndata_dir = "/d"\nlisten_on = "x"\n[build]\nflavour = "pkgbuild"\narchitectures = ["x86_64"]\n```', 'unknown key "listen_on"'],
    ['an incomplete config not marked partial', '```toml server\n[build]\nflavour = "pkgbuild"\n```', 'toml server'],
    ['an executor config with a bad value', '```toml executor\n[limits]\ndisk_mib = 8\n```', 'limits.disk_mib'],
    ['a toml block that does not say which config', '```toml\na = 1\n```', 'must say which config it is'],
    ['an image description with a bad value', '```toml image\n[image]\nlabel = "sample"\nsize = 64\n\n[[image.partition]]\nlabel = "root"\nsize = -1\nfilesystem = "btrfs"\n```', 'image.partition.0.filesystem'],
    ['an image description with an unknown key', '```toml image\n[image]\nlabel = "sample"\nsize = 64\nsizes = 1\n```', 'unknown key "sizes"'],
    ['an image description that includes files', '```toml image\ninclude = ["esp.toml"]\n\n[image]\nsize = 64\n```', 'cannot include files'],
    ['TOML that does not parse', '```toml client\nserver = \n```', 'toml client'],
    ['an executor usage that is not the executor\'s', '```text executor-help\nusage: quarters-executor frob\n```', 'not what quarters-executor --help prints'],
    ['a link to a missing file', 'See [there](nowhere.md).', 'nowhere.md: no such file'],
    ['a link to a missing anchor', 'See [there](reference.md#no-such-heading).', 'no heading makes the anchor #no-such-heading'],
    ['a link to a missing anchor on the page', '## Here\n\nSee [here](#there).', 'no heading makes the anchor #there'],
    ['a link out of the repository', 'See [there](../../../etc/passwd).', 'points outside the repository'],
  ])('%s', (_what, text, expected) => {
    const found = problems(text);
    expect(found.join('\n')).toContain(expected);
  });
});
