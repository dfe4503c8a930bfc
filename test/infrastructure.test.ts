/**
 * The deployment kit under infrastructure/: the systemd units pass `systemd-analyze verify` with
 * their binaries where they run them (and fail without), the server unit is hardened; the example
 * server config validates against the server's schema with its secrets in files, names every key
 * of the schema, and starts the built server, also from the production-only dependency tree the
 * Containerfile installs, which the image's HEALTHCHECK command then checks. The Containerfile is
 * read as instructions: its stages, its copies, its packages (looked up in Debian's archive), user,
 * volume, port and health check agree with the repository and the example config.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { execa, execaSync, type ResultPromise } from 'execa';
import { parse as parseToml } from 'smol-toml';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ConfigError, loadConfigFile } from '../src/common/config-file.js';
import { SERVER_SECRET_KEYS, serverConfigSchema } from '../src/core/server-config.js';

const REPO = resolve(import.meta.dirname, '..');
const INFRA = join(REPO, 'infrastructure');
const SYSTEMD = join(INFRA, 'systemd');
const EXAMPLE_CONFIG = join(INFRA, 'server.example.toml');
const UNITS = ['quarters-server.service', 'quarters-sweep.service', 'quarters-sweep.timer'];

const scratch: string[] = [];
afterAll(() => scratch.forEach((dir) => rmSync(dir, { recursive: true, force: true })));
function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  scratch.push(dir);
  return dir;
}

function have(tool: string): boolean {
  return execaSync('sh', ['-c', `command -v ${tool}`], { reject: false }).exitCode === 0;
}

function skipping(reason: string | null, what: string): boolean {
  if (reason) process.stderr.write(`SKIPPED ${what}: ${reason}\n`);
  return reason !== null;
}

const example = parseToml(readFileSync(EXAMPLE_CONFIG, 'utf8')) as { listen: string; data_dir: string };

// ---------------------------------------------------------------------------------------------
// systemd units

/** A unit file's settings: section → key → every value given, in order (continuations joined). */
function readUnit(file: string): Map<string, Map<string, string[]>> {
  const sections = new Map<string, Map<string, string[]>>();
  let current: Map<string, string[]> | undefined;
  const text = readFileSync(file, 'utf8').replace(/\\\n/g, ' ');
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header) {
      current = new Map();
      sections.set(header[1]!, current);
      continue;
    }
    const eq = line.indexOf('=');
    if (!current || eq < 0) throw new Error(`${file}: unexpected line "${line}"`);
    const key = line.slice(0, eq).trim();
    current.set(key, [...(current.get(key) ?? []), line.slice(eq + 1).trim()]);
  }
  return sections;
}

function setting(file: string, section: string, key: string): string[] {
  return readUnit(join(SYSTEMD, file)).get(section)?.get(key) ?? [];
}

/** The programs the units' Exec*= lines run, by absolute path (systemd's prefix characters removed). */
function execPaths(): string[] {
  const paths = new Set<string>();
  for (const unit of UNITS) {
    for (const [key, values] of readUnit(join(SYSTEMD, unit)).get('Service') ?? []) {
      if (!key.startsWith('Exec')) continue;
      for (const value of values) paths.add(value.replace(/^[-@:+!]+/, '').split(/\s+/)[0]!);
    }
  }
  return [...paths];
}

/**
 * A root for `systemd-analyze --root`: the host's system units (for the targets ours refer to),
 * ours in /etc/systemd/system, and, when `stubs`, an executable at every path the units run.
 */
function unitRoot(stubs: boolean): string {
  const root = tempDir('quarters-units-');
  mkdirSync(join(root, 'usr/lib/systemd'), { recursive: true });
  cpSync('/usr/lib/systemd/system', join(root, 'usr/lib/systemd/system'), { recursive: true, verbatimSymlinks: true });
  mkdirSync(join(root, 'etc/systemd/system'), { recursive: true });
  for (const unit of UNITS) cpSync(join(SYSTEMD, unit), join(root, 'etc/systemd/system', unit));
  if (stubs) {
    for (const path of execPaths()) {
      mkdirSync(join(root, dirname(path)), { recursive: true });
      writeFileSync(join(root, path), '#!/bin/sh\n');
      chmodSync(join(root, path), 0o755);
    }
  }
  return root;
}

const systemdSkip = !have('systemd-analyze')
  ? 'systemd-analyze is not installed (Debian package systemd)'
  : !existsSync('/usr/lib/systemd/system/sysinit.target')
    ? 'the host has no systemd system units (/usr/lib/systemd/system) for the units to refer to'
    : null;

describe.skipIf(skipping(systemdSkip, 'systemd unit checks'))('systemd units', () => {
  it('pass systemd-analyze verify with their programs where the units run them', async () => {
    expect(execPaths().sort()).toEqual(['/usr/local/bin/quarters', '/usr/local/bin/quarters-executor']);
    const result = await execa('systemd-analyze', ['verify', `--root=${unitRoot(true)}`, ...UNITS], { reject: false });
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
  });

  it('fail systemd-analyze verify, naming the program, when it is not there', async () => {
    const result = await execa('systemd-analyze', ['verify', `--root=${unitRoot(false)}`, ...UNITS], { reject: false });
    expect(result.exitCode).not.toBe(0);
    expect(result.stderr).toContain('Command /usr/local/bin/quarters is not executable');
    expect(result.stderr).toContain('Command /usr/local/bin/quarters-executor is not executable');
  });

  it('server: runs `quarters server --config /etc/quarters/server.toml` as quarters, only data_dir writable', () => {
    const unit = 'quarters-server.service';
    expect(setting(unit, 'Service', 'ExecStart')).toEqual(['/usr/local/bin/quarters server --config /etc/quarters/server.toml']);
    expect(setting(unit, 'Service', 'User')).toEqual(['quarters']);
    expect(setting(unit, 'Service', 'ReadWritePaths')).toEqual([example.data_dir]);
    expect(setting(unit, 'Service', 'StateDirectory').map((d) => `/var/lib/${d}`)).toEqual([example.data_dir]);
    for (const [key, value] of [['NoNewPrivileges', 'yes'], ['ProtectSystem', 'strict'], ['PrivateTmp', 'yes'], ['ProtectHome', 'yes']]) {
      expect(setting(unit, 'Service', key!), key).toEqual([value]);
    }
  });

  it('server: systemd-analyze security rates its exposure below 2 of 10', async () => {
    const result = await execa('systemd-analyze', ['security', '--offline=yes', `--root=${unitRoot(true)}`, '--threshold=20', '--no-pager', 'quarters-server.service'], { reject: false });
    expect(result.stdout).toMatch(/Overall exposure level for quarters-server\.service: [01]\.\d/);
    expect(result.exitCode).toBe(0);
  });

  it('sweep: runs `quarters-executor cleanup --stale` as root in the host mount namespace, from an installed timer', () => {
    expect(setting('quarters-sweep.service', 'Service', 'ExecStart')).toEqual(['/usr/local/bin/quarters-executor cleanup --stale']);
    expect(setting('quarters-sweep.service', 'Service', 'User')).toEqual([]);
    expect(setting('quarters-sweep.service', 'Service', 'Type')).toEqual(['oneshot']);
    // Each of these gives the service its own mount namespace, where stale overlays cannot be unmounted.
    const namespacing = ['ProtectSystem', 'ProtectHome', 'PrivateTmp', 'PrivateDevices', 'PrivateMounts', 'ReadWritePaths', 'ReadOnlyPaths', 'InaccessiblePaths', 'TemporaryFileSystem', 'BindPaths', 'ProtectKernelModules', 'ProtectKernelTunables', 'ProtectKernelLogs', 'ProtectControlGroups'];
    const service = readUnit(join(SYSTEMD, 'quarters-sweep.service')).get('Service')!;
    expect(namespacing.filter((key) => service.has(key))).toEqual([]);
    expect(setting('quarters-sweep.timer', 'Install', 'WantedBy')).toEqual(['timers.target']);
    expect(setting('quarters-sweep.timer', 'Timer', 'OnUnitInactiveSec').length).toBe(1);
  });
});

// ---------------------------------------------------------------------------------------------
// The example server config

interface Secrets {
  gitlabToken: string;
  webhookSecret: string;
  apiTokens: string[];
  executorTokens: string[];
}

/** A copy of the example config with its secret files, in a temp dir; `edit` rewrites the text first. */
function exampleConfig(edit: (text: string) => string = (t) => t): { file: string; secrets: Secrets } {
  const dir = tempDir('quarters-config-');
  const token = (prefix: string) => `${prefix}-${randomBytes(12).toString('hex')}`;
  const secrets: Secrets = {
    gitlabToken: token('glpat'),
    webhookSecret: token('hook'),
    apiTokens: [token('api'), token('api')],
    executorTokens: [token('exec')],
  };
  mkdirSync(join(dir, 'secrets'));
  writeFileSync(join(dir, 'secrets/gitlab-token'), `${secrets.gitlabToken}\n`);
  writeFileSync(join(dir, 'secrets/webhook-secret'), `${secrets.webhookSecret}\n`);
  writeFileSync(join(dir, 'secrets/api-tokens'), `${secrets.apiTokens.join('\n')}\n`);
  writeFileSync(join(dir, 'secrets/executor-tokens'), `${secrets.executorTokens.join('\n')}\n`);
  const file = join(dir, 'server.toml');
  writeFileSync(file, edit(readFileSync(EXAMPLE_CONFIG, 'utf8')));
  return { file, secrets };
}

/** The dotted key paths of an object schema, tables first-level only (as the server config has). */
function schemaKeys(schema: z.ZodType, prefix = ''): string[] {
  let inner: unknown = schema;
  while (inner && !(inner instanceof z.ZodObject)) inner = (inner as { _zod?: { def?: { innerType?: unknown } } })._zod?.def?.innerType;
  if (!(inner instanceof z.ZodObject)) return [prefix];
  return Object.entries(inner.shape as Record<string, z.ZodType>).flatMap(([key, value]) => schemaKeys(value, prefix ? `${prefix}.${key}` : key));
}

/** The dotted keys the example sets or shows commented out (`# key = …`), `<key>_file` counted as `<key>`. */
function exampleKeys(): Set<string> {
  const keys = new Set<string>();
  let table = '';
  // Inside `[repositories.NAME]` or `[[images]]` the keys are an entry's, not the schema's own.
  let entries = false;
  for (const line of readFileSync(EXAMPLE_CONFIG, 'utf8').split('\n')) {
    const header = /^(?:# )?(\[\[)?\[?(\w+)(\.[\w-]+)?\]\]?$/.exec(line);
    if (header) {
      table = header[2]!;
      entries = header[1] !== undefined || header[3] !== undefined;
      if (entries) keys.add(table);
      continue;
    }
    const entry = /^(?:# )?(\w+) = /.exec(line);
    if (!entry || entries) continue;
    // A secret shows as <key>_file; a key whose own name ends in _file (signing.key_file) as itself.
    const name = entry[1]!;
    const prefix = table ? `${table}.` : '';
    keys.add(`${prefix}${name}`);
    if (name.endsWith('_file')) keys.add(`${prefix}${name.replace(/_file$/, '')}`);
  }
  return keys;
}

describe('infrastructure/server.example.toml', () => {
  it('validates against the server schema, secrets read from their files', () => {
    const { file, secrets } = exampleConfig();
    const config = loadConfigFile(serverConfigSchema, file, SERVER_SECRET_KEYS);
    expect(config.gitlab?.token).toBe(secrets.gitlabToken);
    expect(config.gitlab?.webhook_secret).toBe(secrets.webhookSecret);
    expect(config.api.tokens).toEqual(secrets.apiTokens);
    expect(config.executor?.tokens).toEqual(secrets.executorTokens);
    expect(config.gitlab?.packages_group).toBeDefined();
    expect(config.gitlab?.tree_project).toBeUndefined();
    expect(config.build.flavour).toBe('pkgbuild');
  });

  it('shows every key of the schema, each secret as <key>_file', () => {
    const schema = schemaKeys(serverConfigSchema);
    // Every key of the schema is shown; what else the example names is a secret's <key>_file.
    expect(schema.filter((k) => !exampleKeys().has(k))).toEqual([]);
    expect([...exampleKeys()].filter((k) => ![k, k.replace(/_file$/, ''), `${k}_file`].some((name) => schema.includes(name)))).toEqual([]);
    const text = readFileSync(EXAMPLE_CONFIG, 'utf8');
    for (const secret of SERVER_SECRET_KEYS) expect(text).toMatch(new RegExp(`^(?:# )?${secret.split('.').pop()}_file = "secrets/`, 'm'));
  });

  it('validates with the AOSC layout (tree_project) instead of packages_group', () => {
    const { file } = exampleConfig((text) => text.replace(/^packages_group = /m, '# packages_group = ').replace(/^# tree_project = /m, 'tree_project = ').replace(/^flavour = "pkgbuild"/m, 'flavour = "autobuild"'));
    const config = loadConfigFile(serverConfigSchema, file, SERVER_SECRET_KEYS);
    expect(config.gitlab?.tree_project).toBe('aosc/aosc-os-abbs');
    expect(config.gitlab?.packages_group).toBeUndefined();
  });

  it('names the key and the file when a secret file is missing', () => {
    const { file } = exampleConfig();
    rmSync(join(dirname(file), 'secrets/webhook-secret'));
    expect(() => loadConfigFile(serverConfigSchema, file, SERVER_SECRET_KEYS)).toThrow(ConfigError);
    expect(() => loadConfigFile(serverConfigSchema, file, SERVER_SECRET_KEYS)).toThrow(/gitlab\.webhook_secret_file: cannot read secrets\/webhook-secret: ENOENT/);
  });
});

// ---------------------------------------------------------------------------------------------
// infrastructure/Containerfile

interface Instruction {
  keyword: string;
  args: string;
}

/** The Containerfile as instructions: comments dropped, continuation lines joined. */
function containerfile(): Instruction[] {
  const text = readFileSync(join(INFRA, 'Containerfile'), 'utf8');
  const logical = text.split('\n').filter((l) => !/^\s*#/.test(l)).join('\n').replace(/\\\n/g, ' ');
  return logical.split('\n').filter((l) => l.trim() !== '').map((line) => {
    const match = /^\s*([A-Z]+)\s+(.*)$/.exec(line);
    if (!match) throw new Error(`Containerfile: not an instruction: "${line}"`);
    return { keyword: match[1]!, args: match[2]!.replace(/\s+/g, ' ').trim() };
  });
}

interface Stage {
  from: string;
  name: string | null;
  instructions: Instruction[];
}

/** The stages, their FROM images resolved with the global ARG defaults. */
function stages(): Stage[] {
  const args = new Map<string, string>();
  const result: Stage[] = [];
  for (const instruction of containerfile()) {
    if (instruction.keyword === 'ARG' && result.length === 0) {
      const [name, value] = instruction.args.split('=');
      args.set(name!, value ?? '');
    } else if (instruction.keyword === 'FROM') {
      const [image, as, name] = instruction.args.split(' ');
      const from = image!.replace(/^\$\{(\w+)\}$/, (_, arg: string) => args.get(arg) ?? `\${${arg}}`);
      result.push({ from, name: as?.toUpperCase() === 'AS' ? name! : null, instructions: [] });
    } else {
      result.at(-1)?.instructions.push(instruction);
    }
  }
  return result;
}

function apt(stage: Stage): string[] {
  return stage.instructions
    .filter((i) => i.keyword === 'RUN')
    .flatMap((i) => [...i.args.matchAll(/apt-get install ((?:-[-\w]+ )*)([^&;]+)/g)].flatMap((m) => m[2]!.trim().split(' ')));
}

/** Whether the .dockerignore (the build context filter) lets `path` in: its last matching pattern decides. */
function inContext(path: string): boolean {
  let included = true;
  for (const raw of readFileSync(join(REPO, '.dockerignore'), 'utf8').split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const negated = line.startsWith('!');
    const pattern = (negated ? line.slice(1) : line).replace(/\/$/, '');
    const body = pattern.split('**/').map((part) => part.replace(/[.+^$()|[\]]/g, '\\$&').replace(/\*/g, '[^/]*')).join('(?:.*/)?');
    const regex = new RegExp(`^${body}(?:/.*)?$`);
    if (regex.test(path)) included = negated;
  }
  return included;
}

describe('infrastructure/Containerfile', () => {
  const all = stages();
  const final = all.at(-1)!;
  const finalArgs = (keyword: string) => final.instructions.filter((i) => i.keyword === keyword).map((i) => i.args);

  it('builds with Node 20 from the official image on the Debian release the runtime stage uses', () => {
    const engines = (JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { engines: { node: string } }).engines.node;
    const wantMajor = Number(/^>=(\d+)/.exec(engines)?.[1]);
    for (const stage of all.slice(0, -1)) {
      const tag = /^docker\.io\/library\/node:(\d+)-(\w+)-slim$/.exec(stage.from);
      expect(tag, stage.from).not.toBeNull();
      expect(Number(tag![1])).toBe(wantMajor);
      expect(tag![2]).toBe('bookworm');
    }
    expect(final.from).toBe('docker.io/library/debian:bookworm-slim');
    expect(final.instructions).toContainEqual({ keyword: 'COPY', args: '--from=node /usr/local/bin/node /usr/local/bin/node' });
  });

  it('copies from the build context only files that exist and the .dockerignore lets in, and from stages that exist', () => {
    const names = new Set(all.map((s) => s.name).filter(Boolean));
    const copies = all.flatMap((s) => s.instructions).filter((i) => i.keyword === 'COPY');
    for (const copy of copies) {
      const parts = copy.args.split(' ');
      const from = /^--from=(\S+)$/.exec(parts[0]!);
      if (from) {
        expect(names, copy.args).toContain(from[1]);
        continue;
      }
      for (const source of parts.slice(0, -1)) {
        expect(existsSync(join(REPO, source)), source).toBe(true);
        expect(inContext(source), `${source} is excluded by .dockerignore`).toBe(true);
      }
    }
    expect(inContext('node_modules')).toBe(false);
    expect(inContext('src/core/recipe/srcinfo.test.ts')).toBe(false);
  });

  it('installs production dependencies only, after the build', () => {
    const build = all.find((s) => s.name === 'build')!;
    const run = build.instructions.filter((i) => i.keyword === 'RUN').map((i) => i.args).join(' && ');
    expect(run.indexOf('npm ci')).toBeGreaterThanOrEqual(0);
    expect(run.indexOf('npm prune --omit=dev')).toBeGreaterThan(run.indexOf('npm ci'));
  });

  const aptSkip = have('apt-cache') && have('dpkg') ? null : 'apt-cache and dpkg are needed to look the packages up';
  it.skipIf(skipping(aptSkip, 'Containerfile package lookups'))('installs Debian packages that exist, including those of the tools the server runs', async () => {
    const packages = apt(final);
    const wanted = [...new Set([...packages, ...all.slice(0, -1).flatMap(apt)])].sort();
    // Given several names, apt-cache show skips unknown ones silently: compare the stanzas it prints.
    const shown = await execa('apt-cache', ['show', '--no-all-versions', ...wanted], { reject: false });
    expect([...new Set([...shown.stdout.matchAll(/^Package: (\S+)$/gm)].map((m) => m[1]))].sort()).toEqual(wanted);
    for (const tool of ['repo-add', 'apt-ftparchive', 'bsdtar', 'zstd']) {
      const path = (await execa('sh', ['-c', `command -v ${tool}`], { reject: false })).stdout.trim();
      if (!path) {
        process.stderr.write(`SKIPPED the package check of ${tool}: not installed here\n`);
        continue;
      }
      const owner = (await execa('dpkg', ['-S', (await execa('realpath', [path])).stdout.trim()], { reject: false })).stdout.split(':')[0];
      expect(packages, `${tool} comes from ${owner}`).toContain(owner);
    }
  });

  it('runs as the quarters user with data_dir as its volume, the example port exposed, healthz checked', () => {
    expect(finalArgs('USER')).toEqual(['quarters']);
    expect(finalArgs('VOLUME')).toEqual([JSON.stringify([example.data_dir])]);
    const port = example.listen.split(':').pop();
    expect(finalArgs('EXPOSE')).toEqual([port]);
    expect(finalArgs('ENV').join(' ')).toContain(`QUARTERS_HEALTHCHECK_URL=http://127.0.0.1:${port}/healthz`);
    expect(finalArgs('ENV').join(' ')).toContain('QUARTERS_CONFIG=/etc/quarters/server.toml');
    expect(finalArgs('ENTRYPOINT')).toEqual(['["quarters"]']);
    expect(finalArgs('CMD')).toEqual(['["server"]']);
  });
});

// ---------------------------------------------------------------------------------------------
// The example config and the image's health check on the real server

/** The HEALTHCHECK's command, as the exec form the image runs. */
function healthcheckCommand(): string[] {
  const healthcheck = containerfile().find((i) => i.keyword === 'HEALTHCHECK')!.args;
  return JSON.parse(healthcheck.slice(healthcheck.indexOf('CMD ') + 4)) as string[];
}

/** A running `quarters server`: its URL, and how to stop it (resolves once it has exited). */
interface RunningServer {
  url: string;
  stop(): Promise<void>;
}

/** Starts `quarters server` from `tree` (a directory with dist/ and node_modules/) on the example config. */
async function startServer(tree: string): Promise<RunningServer> {
  const dataDir = tempDir('quarters-data-');
  const { file } = exampleConfig((text) => text.replace(/^listen = .*$/m, 'listen = "127.0.0.1:0"').replace(/^data_dir = .*$/m, `data_dir = "${dataDir}"`));
  const child: ResultPromise = execa(process.execPath, [join(tree, 'dist/cli/main.js'), 'server', '--config', file], { reject: false, buffer: false });
  const stop = async () => {
    child.kill('SIGTERM');
    await child;
  };
  return new Promise((resolvePromise, rejectPromise) => {
    let output = '';
    // The server logs JSON lines to stderr; the listening line names the URL.
    const read = (chunk: Buffer) => {
      output += chunk.toString();
      const url = /"url":"(http:[^"]+)".*"msg":"quarters server listening"/.exec(output)?.[1];
      if (url) resolvePromise({ url, stop });
    };
    child.stdout!.on('data', read);
    child.stderr!.on('data', read);
    void child.then((result) => rejectPromise(new Error(`quarters server exited (${result.exitCode}) before listening:\n${output}`)));
  });
}

const distSkip = existsSync(join(REPO, 'dist/cli/main.js')) ? null : 'dist/ is not built (npm test builds it; or npm run build)';
const npmSkip = distSkip ?? (have('npm') ? null : 'npm is not installed');

describe.skipIf(skipping(npmSkip, 'server start from the example config'))('the example config on the built server', () => {
  it('starts the server from the production-only dependency tree; the image health check passes, and fails once it stops', { timeout: 120_000 }, async () => {
    // What the Containerfile's build stage leaves: dist/ and node_modules pruned to the production dependencies.
    const tree = tempDir('quarters-prod-');
    for (const file of ['package.json', 'package-lock.json']) cpSync(join(REPO, file), join(tree, file));
    cpSync(join(REPO, 'dist'), join(tree, 'dist'), { recursive: true });
    // Hard links where the file system allows: the prune only unlinks.
    const linked = await execa('cp', ['-al', join(REPO, 'node_modules'), tree], { reject: false });
    if (linked.exitCode !== 0) cpSync(join(REPO, 'node_modules'), join(tree, 'node_modules'), { recursive: true, verbatimSymlinks: true });
    await execa('npm', ['prune', '--omit=dev', '--offline', '--no-audit', '--no-fund'], { cwd: tree });
    expect(existsSync(join(tree, 'node_modules/vitest'))).toBe(false);

    const server = await startServer(tree);
    try {
      expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
      const [command, ...args] = healthcheckCommand();
      expect(command).toBe('node');
      const env = { QUARTERS_HEALTHCHECK_URL: `${server.url}/healthz` };
      expect((await execa(process.execPath, args, { env, reject: false })).exitCode).toBe(0);
      await server.stop();
      expect((await execa(process.execPath, args, { env, reject: false })).exitCode).toBe(1);
    } finally {
      await server.stop();
    }
  });
});
