/**
 * Checks a documentation page against the repository: every command of its shell blocks exists as
 * written (the `quarters` command tree, the executor's usage, npm scripts, the repository's files), its
 * config blocks validate against the real schemas (image descriptions against the description parser), and its relative links and anchors resolve. Each
 * check returns problems as "FILE:LINE: what is wrong", so a failing test says where to look.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import GithubSlugger from 'github-slugger';
import { marked, type Token, type Tokens } from 'marked';
import type { Command, Option } from '@commander-js/extra-typings';
import type { $ZodType } from 'zod/v4/core';
import { parseTomlText, validateConfig } from '../../src/core/config-text.js';
import { resolveDescription } from '../../src/core/image/description.js';

/** What the checks compare a page with; made once per test run (see docsContext in docs.test.ts). */
export interface DocsContext {
  /** The repository's root. */
  repo: string;
  /** The `quarters` command tree, as src/cli/program.ts declares it. */
  quarters: Command;
  /** `quarters-executor --help`, as the built executor prints it. */
  executorUsage: string;
  /** `vm/quarters-build help`'s usage line's commands. */
  driverCommands: string[];
  /** package.json's scripts. */
  npmScripts: Set<string>;
  /** The top-level entries of the repository (and `dist`): a word starting with one of them is a path to check. */
  topLevel: Set<string>;
  /** The config schemas a ```toml NAME block is checked against, with the keys that may be given as `<key>_file`. */
  configs: Record<string, { schema: $ZodType; secretKeys: readonly string[]; minimal: Record<string, unknown> }>;
}

/** A fenced code block: its info string's words and where it starts. */
export interface CodeBlock {
  info: string[];
  text: string;
  line: number;
}

/** A parsed page: its tokens and the line each raw token text starts on. */
export interface Page {
  file: string;
  text: string;
  tokens: Token[];
}

export function parsePage(file: string, text: string): Page {
  return { file, text, tokens: marked.lexer(text) };
}

/** The 1-based line where `raw` first occurs in the page (1 when it cannot be found). */
function lineOf(page: Page, raw: string, from = 0): number {
  const at = page.text.indexOf(raw, from);
  return at < 0 ? 1 : page.text.slice(0, at).split('\n').length;
}

/** Every token of the page, nested ones (list items, table cells, links in paragraphs) included. */
function allTokens(page: Page): Token[] {
  const tokens: Token[] = [];
  marked.walkTokens(page.tokens, (token) => void tokens.push(token));
  return tokens;
}

export function codeBlocks(page: Page): CodeBlock[] {
  let cursor = 0;
  return allTokens(page)
    .filter((t): t is Tokens.Code => t.type === 'code' && (t as Tokens.Code).codeBlockStyle !== 'indented')
    .map((t) => {
      const line = lineOf(page, t.raw, cursor);
      cursor = Math.max(cursor, page.text.indexOf(t.raw, cursor) + 1);
      return { info: (t.lang ?? '').split(/\s+/).filter(Boolean), text: t.text, line };
    });
}

/** The text of inline code spans (tables' `\|` already read as `|`). */
export function codeSpans(page: Page): { text: string; line: number }[] {
  return allTokens(page)
    .filter((t): t is Tokens.Codespan => t.type === 'codespan')
    .map((t) => ({ text: t.text.replace(/&amp;/g, '&').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#39;/g, "'"), line: lineOf(page, t.raw) }));
}

/** A heading's text as GitHub renders it (code spans, emphasis and links reduced to their text). */
function plainText(tokens: Token[] | undefined): string {
  return (tokens ?? []).map((t) => ('tokens' in t && t.tokens ? plainText(t.tokens) : 'text' in t ? String(t.text) : '')).join('');
}

/** The anchors GitHub makes of the page's headings (`#cli-quarters` for "CLI: `quarters`"). */
export function anchors(page: Page): Set<string> {
  const slugger = new GithubSlugger();
  return new Set(allTokens(page).filter((t): t is Tokens.Heading => t.type === 'heading').map((t) => slugger.slug(plainText(t.tokens))));
}

/** Every link's target with the line it is on. */
export function links(page: Page): { href: string; line: number }[] {
  return allTokens(page)
    .filter((t): t is Tokens.Link => t.type === 'link')
    .map((t) => ({ href: t.href, line: lineOf(page, t.raw) }));
}

/**
 * Relative links: the file exists (inside the repository, or beside it under ../shared) and, for a
 * markdown file, the anchor is one of its headings'. `outside` collects targets outside the repository
 * that are absent here, so that the test can say it could not check them.
 */
export function checkLinks(page: Page, repo: string, outside: string[] = []): string[] {
  const problems: string[] = [];
  const here = dirname(join(repo, page.file));
  for (const { href, line } of links(page)) {
    if (/^[a-z][a-z0-9+.-]*:/i.test(href)) continue;
    const [path = '', anchor] = href.split('#', 2) as [string, string | undefined];
    const target = path === '' ? join(repo, page.file) : resolve(here, decodeURIComponent(path));
    const where = `${page.file}:${line}: ${href}`;
    if (path === '') {
      // This page: only the anchor to check.
    } else if (!target.startsWith(`${repo}/`) && target !== repo) {
      if (!relative(dirname(repo), target).startsWith('shared/')) {
        problems.push(`${where}: points outside the repository (only ../shared, beside it, is allowed)`);
        continue;
      }
      if (!existsSync(target)) {
        outside.push(where);
        continue;
      }
    } else if (!existsSync(target)) {
      problems.push(`${where}: no such file`);
      continue;
    }
    if (anchor === undefined) continue;
    if (!target.endsWith('.md')) {
      problems.push(`${where}: an anchor into a file that is not markdown`);
      continue;
    }
    const targetPage = target === join(repo, page.file) ? page : parsePage(relative(repo, target), readFileSync(target, 'utf8'));
    if (!anchors(targetPage).has(anchor)) problems.push(`${where}: no heading makes the anchor #${anchor}`);
  }
  return problems;
}

/**
 * Splits shell text into simple commands (argv lists): quotes, backslash-newlines, comments, the
 * operators `&& || | ; &` and redirections (whose target is dropped); each `$(…)` becomes a command of its own.
 */
export function shellCommands(text: string): string[][] {
  const commands: string[][] = [];
  let argv: string[] = [];
  let word: string | null = null;
  let redirected = false;
  const endWord = () => {
    if (word !== null && !redirected) argv.push(word);
    else if (word !== null) redirected = false;
    word = null;
  };
  const endCommand = () => {
    endWord();
    if (argv.length) commands.push(argv);
    argv = [];
  };
  const source = text.replace(/\\\n/g, ' ');
  for (let i = 0; i < source.length; i++) {
    const c = source[i]!;
    if (c === '$' && source[i + 1] === '(') {
      let depth = 0;
      let j = i + 1;
      for (; j < source.length; j++) {
        if (source[j] === '(') depth++;
        else if (source[j] === ')' && --depth === 0) break;
      }
      commands.push(...shellCommands(source.slice(i + 2, j)));
      word = `${word ?? ''}$(…)`;
      i = j;
    } else if (c === "'" || c === '"') {
      const close = source.indexOf(c, i + 1);
      const quoted = source.slice(i + 1, close < 0 ? source.length : close);
      if (c === '"') for (const m of quoted.matchAll(/\$\(([^)]*)\)/g)) commands.push(...shellCommands(m[1]!));
      word = `${word ?? ''}${quoted}`;
      i = close < 0 ? source.length : close;
    } else if (c === '#' && word === null) {
      const eol = source.indexOf('\n', i);
      i = eol < 0 ? source.length : eol - 1;
    } else if (c === ' ' || c === '\t') {
      endWord();
    } else if (c === '>' || c === '<' || (c === '&' && source[i + 1] === '>')) {
      // A redirection: its target is no argument (a file descriptor number before it neither).
      if (word !== null && /^\d+$/.test(word)) word = null;
      endWord();
      if (c === '&') i++;
      if (source[i + 1] === '>' || source[i + 1] === '&') i++;
      redirected = true;
    } else if (c === '\n' || c === ';' || c === '|' || c === '&') {
      endCommand();
      if ((c === '|' || c === '&') && source[i + 1] === c) i++;
    } else {
      word = `${word ?? ''}${c}`;
    }
  }
  endCommand();
  return commands;
}

/** Options a command takes: `--long`/`-s` → whether it takes a value, and its choices. */
function optionsOf(command: Command): Map<string, { value: boolean; choices?: readonly string[] }> {
  const options = new Map<string, { value: boolean; choices?: readonly string[] }>([['--help', { value: false }], ['-h', { value: false }]]);
  for (const option of command.options as readonly Option[]) {
    const spec = { value: option.required || option.optional, choices: option.argChoices };
    if (option.long) options.set(option.long, spec);
    if (option.short) options.set(option.short, spec);
  }
  return options;
}

const isPlaceholder = (word: string) => /^[A-Z][A-Z0-9_@.,…-]*(\.\.\.|…)?$/.test(word) || /^(…|\.\.\.)$/.test(word) || /^<.*>$/.test(word);

/** Words of a documented usage (`quarters ns show NAME [--arch A]`) as argv: brackets dropped, `…` words left out. */
function usageWords(argv: string[]): string[] {
  return argv.map((w) => w.replace(/^\[+|\]+$/g, '')).filter((w) => w !== '' && w !== '…' && w !== '...');
}

/**
 * A `quarters` command line against the command tree: each subcommand exists, each option exists on
 * its command (with its value, within its choices). `strict` (shell blocks) also counts the arguments;
 * otherwise (inline usage such as `quarters ns cancel|resume|retry NAME [PKGBASE…]`) `a|b` words are
 * alternatives and a command may stop anywhere.
 */
export function checkQuartersArgv(root: Command, argv: string[], strict: boolean): string | null {
  const words = strict ? argv : usageWords(argv);
  const alternativesOf = (word: string) => (strict ? [word] : word.split('|'));
  let command = root;
  let i = 0;
  for (; i < words.length; i++) {
    const word = words[i]!;
    if (word.startsWith('-')) break;
    const subs = alternativesOf(word).map((w) => (command.commands as Command[]).find((c) => c.name() === w || c.aliases().includes(w)));
    if (subs.every((s) => s !== undefined)) {
      if (subs.length > 1) {
        for (const sub of subs.slice(1)) {
          const problem = checkQuartersArgv(root, [...words.slice(0, i), sub!.name(), ...words.slice(i + 1)], strict);
          if (problem) return problem;
        }
      }
      command = subs[0]!;
      continue;
    }
    if (subs.some((s) => s !== undefined)) return `"${word}": not every alternative is a subcommand of ${named(command)}`;
    if (command.commands.length > 0 && command.registeredArguments.length === 0) {
      // A placeholder (`quarters COMMAND …`) stands for any subcommand; anything else is not one.
      if (!strict && isPlaceholder(word)) return null;
      return `${named(command)} has no subcommand "${word}"`;
    }
    break;
  }
  const options = optionsOf(command);
  const positionals: string[] = [];
  for (; i < words.length; i++) {
    const word = words[i]!;
    if (word.startsWith('-') && word.length > 1) {
      const [name, inline] = word.split('=', 2) as [string, string | undefined];
      const option = options.get(name);
      if (!option) return `${named(command)} has no option ${name}`;
      if (option.value && inline === undefined) {
        const value = words[++i];
        if (value === undefined || (strict && value.startsWith('-'))) return `${named(command)} ${name} wants a value`;
        if (option.choices && !isPlaceholder(value) && !alternativesOf(value).every((v) => option.choices!.includes(v))) {
          return `${named(command)} ${name} takes ${option.choices.join(', ')}, not "${value}"`;
        }
      }
      continue;
    }
    positionals.push(word);
  }
  const declared = command.registeredArguments;
  if (command.commands.length > 0 && declared.length === 0 && !(command as unknown as { _actionHandler: unknown })._actionHandler) {
    if (positionals.length > 0) return `${named(command)} has no subcommand "${positionals[0]}"`;
    if (strict) return `${named(command)} needs a subcommand`;
    return null;
  }
  for (const [n, argument] of declared.entries()) {
    const value = positionals[n];
    if (value !== undefined && argument.argChoices && !isPlaceholder(value) && !alternativesOf(value).every((v) => argument.argChoices!.includes(v))) {
      return `${named(command)} takes ${argument.argChoices.join(', ')} as ${argument.name()}, not "${value}"`;
    }
  }
  if (strict) {
    const required = declared.filter((a) => a.required).length;
    const variadic = declared.some((a) => a.variadic);
    if (positionals.length < required) return `${named(command)} wants ${required} argument(s), got ${positionals.length}`;
    if (!variadic && positionals.length > declared.length) return `${named(command)} takes ${declared.length} argument(s), got ${positionals.length} (${positionals.join(' ')})`;
  } else if (positionals.length > 0 && declared.length === 0) {
    return `${named(command)} has no subcommand or argument "${positionals[0]}"`;
  }
  return null;
}

/** "quarters ns show" for that command. */
function named(command: Command): string {
  const names: string[] = [];
  for (let c: Command | null = command; c?.parent; c = c.parent as Command | null) names.unshift(c.name());
  return ['quarters', ...names].join(' ');
}

/** One form of the executor's usage: its words (literals and PLACEHOLDERS) and its flags. */
interface UsageForm {
  words: string[];
  flags: Map<string, { value: boolean; required: boolean }>;
}

/** The forms `quarters-executor --help` lists; `a | b` alternatives after a shared first word each make one. */
export function executorForms(usage: string): UsageForm[] {
  const forms: UsageForm[] = [];
  for (const line of usage.split('\n')) {
    const m = /^\s+quarters-executor\s+(.*?)(\s{2,}\(.*\))?$/.exec(line);
    if (!m) continue;
    const segments = m[1]!.split(' | ').map((s) => s.trim().split(/\s+/));
    const last = segments.at(-1)!;
    const optionalFrom = last.findIndex((w) => w.startsWith('['));
    // Optional flags after the last alternative belong to every alternative (`cleanup all | packages [--older-than M]`).
    const trailing = optionalFrom < 0 ? [] : last.slice(optionalFrom);
    const prefix = segments.length > 1 ? segments[0]!.slice(0, -1) : [];
    segments[0] = segments.length > 1 ? segments[0]!.slice(-1) : segments[0]!;
    for (const segment of segments) {
      const tokens = [...prefix, ...segment.filter((w) => !trailing.includes(w)), ...trailing];
      const form: UsageForm = { words: [], flags: new Map() };
      for (let i = 0; i < tokens.length; i++) {
        const optional = tokens[i]!.startsWith('[');
        const word = tokens[i]!.replace(/^\[|\]$/g, '');
        if (word.startsWith('--')) {
          const next = tokens[i + 1]?.replace(/\]$/, '');
          const value = next !== undefined && isPlaceholder(next);
          if (value) i++;
          form.flags.set(word, { value, required: !optional });
        } else form.words.push(word);
      }
      forms.push(form);
    }
  }
  return forms;
}

/** A `quarters-executor` command line against its usage; `strict` (shell blocks) wants a whole form. */
export function checkExecutorArgv(usage: string, argv: string[], strict: boolean): string | null {
  const words = strict ? argv : usageWords(argv);
  if (words.length === 1 && (words[0] === '--help' || words[0] === '-h')) return null;
  const matches = (form: UsageForm): boolean => {
    const positionals: string[] = [];
    const seen = new Set<string>();
    for (let i = 0; i < words.length; i++) {
      const word = words[i]!;
      if (word.startsWith('--')) {
        const flag = form.flags.get(word);
        if (!flag) return false;
        seen.add(word);
        if (flag.value && words[++i] === undefined) return false;
      } else positionals.push(word);
    }
    const fits = (p: string, w: string) => (isPlaceholder(w) ? !p.startsWith('-') : p === w);
    if (strict && positionals.length !== form.words.length) return false;
    if (positionals.length > form.words.length || !positionals.every((p, n) => fits(p, form.words[n]!))) return false;
    return !strict || [...form.flags].every(([name, f]) => !f.required || seen.has(name));
  };
  return executorForms(usage).some(matches) ? null : `quarters-executor ${words.join(' ')}: no such form in quarters-executor --help`;
}

/** Programs a documented shell command may run besides quarters' own; their arguments are checked for repository paths only. */
export const KNOWN_PROGRAMS = new Set([
  'apt-get', 'awk', 'cd', 'chmod', 'chown', 'cp', 'curl', 'dot', 'echo', 'eval', 'git', 'gpg', 'hyperfine', 'install', 'journalctl', 'ln',
  'makepkg', 'mkdir', 'pacman-key', 'podman', 'printf', 'sqlite3', 'systemctl', 'useradd',
]);

const NPM_COMMANDS = new Set(['ci', 'install', 'link', 'prune', 'test']);

/** Words that name a file of the repository (after a `kind:` prefix such as `srcinfo:`, split at commas). */
function repositoryPaths(word: string, ctx: DocsContext): string[] {
  const bare = word.replace(/^[a-z]+:(?!\/\/)/, '');
  return bare.split(',').filter((p) => {
    if (p === '' || /[*?{}$<>…]/.test(p)) return false;
    if (p.startsWith('../shared/')) return true;
    const first = p.replace(/^\.\//, '').split('/')[0]!;
    return p.includes('/') && ctx.topLevel.has(first);
  });
}

function checkPath(path: string, ctx: DocsContext, outside: string[], where: string): string | null {
  const full = resolve(ctx.repo, path);
  if (existsSync(full)) return null;
  if (path.startsWith('../shared/') && !existsSync(resolve(ctx.repo, '../shared'))) {
    outside.push(`${where}: ${path}`);
    return null;
  }
  return `${path}: no such file in the repository`;
}

/** One argv of a shell block: the program is quarters', the repository's or a known one, and every repository path exists. */
export function checkShellArgv(argv: string[], ctx: DocsContext, outside: string[] = [], where = ''): string | null {
  let words = argv;
  while (words.length && /^[A-Z_][A-Z0-9_]*=/.test(words[0]!)) words = words.slice(1);
  const [program, ...args] = words;
  if (program === undefined) return null;
  for (const word of words) {
    for (const path of repositoryPaths(word, ctx)) {
      const problem = checkPath(path, ctx, outside, where);
      if (problem) return problem;
    }
  }
  switch (program) {
    case 'quarters':
      return checkQuartersArgv(ctx.quarters, args, true);
    case 'quarters-executor':
      return checkExecutorArgv(ctx.executorUsage, args, true);
    case 'npm':
      if (args[0] === 'run') return ctx.npmScripts.has(args[1] ?? '') ? null : `npm run ${args[1] ?? ''}: package.json has no such script`;
      return NPM_COMMANDS.has(args[0] ?? '') ? null : `npm ${args[0] ?? ''}: not an npm command these docs use (${[...NPM_COMMANDS].join(', ')}, run)`;
    case 'npx':
      if (args[0] !== 'vitest' || args[1] !== 'run') return `npx ${args.join(' ')}: only npx vitest run is used`;
      for (const path of args.slice(2).filter((a) => !a.startsWith('-'))) {
        if (!existsSync(resolve(ctx.repo, path))) return `npx vitest run ${path}: no such test file or directory`;
      }
      return null;
    case 'node': {
      const script = args.find((a) => !a.startsWith('-') && /[/.]/.test(a));
      return script === undefined || existsSync(resolve(ctx.repo, script)) ? null : `node ${script}: no such file in the repository`;
    }
    case 'quarters-build':
      return ctx.driverCommands.includes(args[0] ?? 'all') ? null : `quarters-build ${args[0]}: not a command of vm/quarters-build`;
    default:
      if (program.includes('/')) {
        const file = resolve(ctx.repo, program);
        return existsSync(file) && statSync(file).mode & 0o111 ? null : `${program}: no such executable in the repository`;
      }
      return KNOWN_PROGRAMS.has(program) ? null : `${program}: an unknown program (a made-up command, or add it to KNOWN_PROGRAMS in test/support/docs-check.ts)`;
  }
}

/** Inline code that reads as a command line of quarters' (`quarters ns show NAME`, `npm run bench:x`): the same checks, leniently. */
export function checkInlineCommand(span: string, ctx: DocsContext): string | null {
  const argv = span.trim().split(/\s+/);
  const [program, ...args] = argv;
  switch (program) {
    case 'quarters':
      return checkQuartersArgv(ctx.quarters, args, false);
    case 'quarters-executor':
      return checkExecutorArgv(ctx.executorUsage, args, false);
    case 'quarters-build':
      return args.length === 0 || args[0]!.split('|').every((a) => ctx.driverCommands.includes(a)) ? null : `quarters-build ${args[0]}: not a command of vm/quarters-build`;
    case 'npm':
      if (args[0] !== 'run' || !args[1]) return null;
      return ctx.npmScripts.has(args[1]) ? null : `npm run ${args[1]}: package.json has no such script`;
    case 'npx':
    case 'node':
      return checkShellArgv(usageWords(argv), ctx);
    default:
      return null;
  }
}

/** Deep-merges `over` onto `base` (tables merged, other values replaced). */
function merge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const prior = out[key];
    out[key] = prior && typeof prior === 'object' && !Array.isArray(prior) && value && typeof value === 'object' && !Array.isArray(value)
      ? merge(prior as Record<string, unknown>, value as Record<string, unknown>)
      : value;
  }
  return out;
}

/** `<key>_file` secrets stand for their key: a value that passes the schema's checks, so that the key itself is what is checked. */
function withSecretsFilled(config: Record<string, unknown>, secretKeys: readonly string[]): Record<string, unknown> {
  for (const dotted of secretKeys) {
    const parts = dotted.split('.');
    const key = parts.pop()!;
    let table: unknown = config;
    for (const part of parts) table = (table as Record<string, unknown> | undefined)?.[part];
    if (!table || typeof table !== 'object' || !(`${key}_file` in table)) continue;
    const record = table as Record<string, unknown>;
    record[key] = key.endsWith('tokens') ? ['a-token-of-sixteen-characters'] : 'a-secret-of-sixteen-characters';
    delete record[`${key}_file`];
  }
  return config;
}

/**
 * A ```toml image block: a whole image description (`quarters image build IMAGE.toml`), validated by
 * the description parser as the command would read it. It cannot include files: a page shows an
 * example with includes by linking examples/images/.
 */
function checkImageBlock(block: CodeBlock, file: string): string | null {
  const flags = block.info.slice(2);
  if (flags.length) return `toml image: unknown marker ${flags.join(' ')} (an image description is always whole)`;
  const where = `${file}:${block.line}`;
  try {
    const value = parseTomlText(block.text, where);
    if ('include' in value) return 'toml image: a block cannot include files (link the example in examples/images/ instead)';
    resolveDescription({ file: where, value, includes: [] });
    return null;
  } catch (error) {
    return `toml image: ${(error as Error).message}`;
  }
}

/**
 * A ```toml block: its info string says which config it is (`toml server`, `toml executor`, `toml
 * client`; `partial` for a fragment, validated merged into that config's minimal one), or `toml
 * image` for an image description.
 */
export function checkTomlBlock(block: CodeBlock, ctx: DocsContext, file: string): string | null {
  const [, kind, ...flags] = block.info;
  if (kind === 'image') return checkImageBlock(block, file);
  const config = kind === undefined ? undefined : ctx.configs[kind];
  if (!config) return `a toml block must say which config it is: toml ${Object.keys(ctx.configs).join('|')} [partial], or toml image for an image description`;
  const unknown = flags.filter((f) => f !== 'partial');
  if (unknown.length) return `toml ${kind}: unknown marker ${unknown.join(' ')} (only partial)`;
  try {
    const parsed = withSecretsFilled(parseTomlText(block.text, `${file}:${block.line}`), config.secretKeys);
    validateConfig(config.schema, flags.includes('partial') ? merge(config.minimal, parsed) : parsed, `${file}:${block.line}`);
    return null;
  } catch (error) {
    return `toml ${kind}: ${(error as Error).message}`;
  }
}

/** Every check of a page; `outside` collects what could not be checked here (../shared absent). */
export function checkPage(page: Page, ctx: DocsContext, outside: string[] = []): string[] {
  const problems: string[] = [];
  for (const block of codeBlocks(page)) {
    const where = `${page.file}:${block.line}`;
    const lang = block.info[0];
    if (lang === 'sh' || lang === 'bash' || lang === 'shell') {
      for (const argv of shellCommands(block.text)) {
        const problem = checkShellArgv(argv, ctx, outside, where);
        if (problem) problems.push(`${where}: ${argv.join(' ')}: ${problem}`);
      }
    } else if (lang === 'toml') {
      const problem = checkTomlBlock(block, ctx, page.file);
      if (problem) problems.push(`${where}: ${problem}`);
    } else if (lang === 'text' && block.info[1] === 'executor-help') {
      if (block.text.trimEnd() !== ctx.executorUsage.trimEnd()) problems.push(`${where}: this is not what quarters-executor --help prints now:\n${ctx.executorUsage}`);
    }
  }
  for (const span of codeSpans(page)) {
    const problem = checkInlineCommand(span.text, ctx);
    if (problem) problems.push(`${page.file}:${span.line}: \`${span.text}\`: ${problem}`);
    if (!/\s/.test(span.text)) {
      for (const path of repositoryPaths(span.text.replace(/[):,.]+$/, ''), ctx)) {
        const missing = checkPath(path, ctx, outside, `${page.file}:${span.line}`);
        if (missing) problems.push(`${page.file}:${span.line}: \`${span.text}\`: ${missing}`);
      }
    }
  }
  problems.push(...checkLinks(page, ctx.repo, outside));
  return problems;
}
