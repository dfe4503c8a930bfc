/**
 * The built `quarters` CLI (dist/cli/main.js, built by `npm test`) as a child process against a real
 * server over HTTP (the GitLab double behind it): help texts, the REST client commands with their
 * outputs, --json shapes, exit statuses and one-line errors, the client config file, and completion.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildLogPath } from '../../src/core/build-set/log-path.js';
import { freePort } from '../support/free-port.js';
import { tempDir } from '../server/http-harness.js';
import { API_TOKEN, chain, startRig, type Rig } from '../server/server-harness.js';

const CLI = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

describe('quarters REST client commands (built CLI, real server)', () => {
  let rig: Rig;
  let home: string;
  let tokenFile: string;
  const env = (extra: Record<string, string> = {}) => ({ HOME: home, XDG_CONFIG_HOME: join(home, 'config'), QUARTERS_SERVER: '', QUARTERS_API_TOKEN: '', QUARTERS_CONFIG: '', ...extra });
  const quarters = async (args: string[], extra: Record<string, string> = {}) => {
    const r = await execa('node', [CLI, ...args], { reject: false, env: env(extra), extendEnv: false });
    return { code: r.exitCode, stdout: r.stdout, stderr: r.stderr };
  };
  const withServer = (args: string[]) => [...args, '--server', rig.url];

  beforeAll(async () => {
    rig = await startRig();
    await chain(rig);
    home = tempDir('quarters-client-home-');
    tokenFile = join(home, 'api.token');
    writeFileSync(tokenFile, `${API_TOKEN}\n`);
  });
  afterAll(async () => rig?.close());

  it('answers --help on every command and subcommand, and exits 2 with the help when a subcommand is missing', async () => {
    const paths = ['', 'server', 'index', 'index sync', 'build', 'build show', 'build log', 'graph', 'graph rdeps', 'graph plan', 'ns', 'ns new', 'ns create', 'ns list', 'ns show', 'ns graph', 'ns watch', 'ns cancel', 'ns resume', 'ns retry', 'builders', 'gc', 'completion'];
    await Promise.all(paths.map(async (path) => {
      const words = path ? path.split(' ') : [];
      const help = await quarters([...words, '--help']);
      expect({ path, code: help.code, stderr: help.stderr }).toEqual({ path, code: 0, stderr: '' });
      const shown = path === 'ns create' || path === 'ns new' ? 'ns new|create' : path;
      expect(help.stdout).toMatch(new RegExp(`^Usage: quarters ${shown ? `${shown.replace('|', '\\|')} ` : ''}`));
    }));
    expect((await quarters(['build', '--help'])).stdout).toContain('--cycle-rebuild <mode>');
    expect((await quarters(['ns', 'show', '--help'])).stdout).toMatch(/--state <state>[^]*--json/);
    for (const words of [[], ['ns'], ['graph'], ['index']]) {
      const missing = await quarters(words);
      expect(missing.code).toBe(2);
      expect(missing.stderr).toMatch(/^Usage: quarters/);
    }
  });

  it('refuses bad usage with one line and exit status 2', async () => {
    const cases: [string[], RegExp][] = [
      [['frobnicate'], /^quarters: unknown command 'frobnicate'$/],
      [['ns', 'list', '--bogus'], /^quarters: ns list: unknown option '--bogus'$/],
      [['ns', 'show'], /^quarters: ns show: missing required argument 'NAME'$/],
      [['ns', 'list'], /^quarters: give --server URL, set QUARTERS_SERVER, or put server = "URL" in .*\/config\/quarters\/client\.toml$/],
      [withServer(['ns', 'new', 'zlib@main']), /^quarters: ns new needs an API token: set QUARTERS_API_TOKEN, give --token-file FILE/],
      [withServer(['ns', 'new', '--token-file', join(home, 'missing')]), /^quarters: ns new: give at least one PKGBASE@REF$/],
      [withServer(['ns', 'retry', 'x', '--token-file', join(home, 'missing')]), /^quarters: --token-file .*missing: cannot read it: ENOENT$/],
      [withServer(['build', 'show', 'abc']), /^quarters: "abc" is not a build id/],
      [['ns', 'list', '--server', 'ftp://example.org'], /is not an http:\/\/ or https:\/\/ URL$/],
      [['completion', 'fish'], /^quarters: completion: .*'fish' is invalid.*bash, zsh/],
    ];
    for (const [args, message] of cases) {
      const result = await quarters(args);
      expect({ args, code: result.code, stdout: result.stdout }).toEqual({ args, code: 2, stdout: '' });
      expect(result.stderr).toMatch(message);
      expect(result.stderr.split('\n')).toHaveLength(1);
    }
  });

  it('creates (ns new, and ns create as before), lists and shows build sets, filtered and as JSON', async () => {
    const created = await quarters(withServer(['ns', 'new', '--name', 'pngset', '--token-file', tokenFile, 'zlib@main']));
    expect(created.stderr).toBe('');
    expect(created.code).toBe(0);
    expect(created.stdout).toMatch(/^created pngset\nID\s+PKGBASE\s+ARCH\s+STATE\s+PIPELINE\s+REASON\n(\d+\s+(zlib|libpng|cairo)\s+x86_64\s+\S+.*\n?){3}$/);
    const old = await quarters(['ns', 'create', 'zlib@main', '--name', 'other'], { QUARTERS_SERVER: rig.url, QUARTERS_API_TOKEN: API_TOKEN });
    expect([old.code, old.stdout.split('\n')[0]]).toEqual([0, 'created other']);

    const list = await quarters(['ns', 'list'], { QUARTERS_SERVER: rig.url });
    expect(list.stdout.split('\n')).toEqual([expect.stringMatching(/^pngset {2}active {2}iteration 1 {2}\S+=\d/), expect.stringMatching(/^other {2}active/)]);
    const listJson = JSON.parse((await quarters(withServer(['ns', 'list', '--json']))).stdout) as { namespaces: { name: string; iteration: { number: number } }[] };
    expect(listJson.namespaces.map((n) => [n.name, n.iteration.number])).toEqual([['pngset', 1], ['other', 1]]);

    const show = await quarters(withServer(['ns', 'show', 'pngset']));
    expect(show.stdout).toMatch(/^pngset, iteration 1\nID {2}PKGBASE/);
    expect(show.stdout).toMatch(/^\d+\s+zlib\s+x86_64\s+dispatched\s+\d+$/m);
    const blocked = await quarters(withServer(['ns', 'show', 'pngset', '--state', 'blocked', '--arch', 'x86_64']));
    expect(blocked.stdout.split('\n').slice(2).map((l) => l.split(/\s+/)[1]).sort()).toEqual(['cairo', 'libpng']);
    const none = JSON.parse((await quarters(withServer(['ns', 'show', 'pngset', '--arch', 'aarch64', '--json']))).stdout) as { name: string; builds: unknown[]; iteration: { number: number } };
    expect([none.name, none.builds, none.iteration.number]).toEqual(['pngset', [], 1]);
  });

  it('prints the graph as a tree, as DOT and as JSON', async () => {
    const tree = await quarters(withServer(['ns', 'graph', 'pngset']));
    expect(tree.code).toBe(0);
    expect(tree.stdout).toBe(['cairo/x86_64 blocked', '└── libpng/x86_64 blocked', '    └── zlib/x86_64 dispatched'].join('\n'));
    const dot = (await quarters(withServer(['ns', 'graph', 'pngset', '--dot']))).stdout;
    expect(dot).toMatch(/^digraph "pngset" \{\n {2}rankdir=LR;\n/);
    expect(dot).toMatch(/ {2}\d+ \[label="zlib\/x86_64\\ndispatched"\];/);
    expect(dot.match(/ -> /g)).toHaveLength(2);
    const json = JSON.parse((await quarters(withServer(['ns', 'graph', 'pngset', '--json']))).stdout) as { iteration: number; nodes: unknown[]; edges: unknown[] };
    expect([json.iteration, json.nodes.length, json.edges.length]).toEqual([1, 3, 2]);
  });

  it('retries, cancels and resumes a whole set or named pkgbases; the server\'s refusals are one line and exit 1', async () => {
    const store = rig.server.store;
    const zlib = store.builds(store.latestIteration(store.namespaceByName('pngset')!.id)!.id).find((b) => b.pkgbase === 'zlib')!;
    await rig.gitlab.state.finishPipeline(zlib.pipeline_id!, 'failed');
    await rig.server.drain();
    const failed = JSON.parse((await quarters(withServer(['ns', 'show', 'pngset', '--json']))).stdout) as { builds: { pkgbase: string; state: string }[] };
    expect(Object.fromEntries(failed.builds.map((b) => [b.pkgbase, b.state]))).toEqual({ zlib: 'failed', libpng: 'dependency-failed', cairo: 'dependency-failed' });

    const unknown = await quarters(withServer(['ns', 'retry', 'pngset', 'nosuch', '--token-file', tokenFile]));
    expect([unknown.code, unknown.stdout]).toEqual([1, '']);
    expect(unknown.stderr).toBe('quarters: POST /api/v1/namespaces/pngset/retry: 422 unknown_pkgbase: build set "pngset" builds no "nosuch" in its latest iteration');
    const missing = await quarters(withServer(['ns', 'show', 'nope']));
    expect([missing.code, missing.stderr]).toEqual([1, 'quarters: GET /api/v1/namespaces/nope: 404 not_found: no build set named "nope"']);
    const nobody = `http://127.0.0.1:${await freePort()}`;
    const unreachable = await quarters(['ns', 'list', '--server', nobody]);
    expect([unreachable.code, unreachable.stderr]).toEqual([1, `quarters: cannot reach ${nobody}: ECONNREFUSED`]);

    const retried = await quarters(withServer(['ns', 'retry', 'pngset', 'zlib', '--token-file', tokenFile]));
    expect(retried.code).toBe(0);
    expect(retried.stdout).toMatch(/^pngset: active, iteration 1\n/);
    expect(retried.stdout).toMatch(/^\d+\s+zlib\s+x86_64\s+building\s+\d+$/m);

    const cancelled = JSON.parse((await quarters(withServer(['ns', 'cancel', 'pngset', 'zlib', '--json']), { QUARTERS_API_TOKEN: API_TOKEN })).stdout) as { status: string; builds: { pkgbase: string; state: string }[] };
    expect(cancelled.status).toBe('active');
    expect(cancelled.builds.find((b) => b.pkgbase === 'zlib')!.state).toBe('cancelled');
    const resumed = JSON.parse((await quarters(withServer(['ns', 'resume', 'pngset', '--json']), { QUARTERS_API_TOKEN: API_TOKEN })).stdout) as { status: string; builds: { pkgbase: string; state: string }[] };
    expect([resumed.status, resumed.builds.find((b) => b.pkgbase === 'zlib')!.state]).toEqual(['active', 'building']);

    const whole = JSON.parse((await quarters(withServer(['ns', 'cancel', 'other', '--json']), { QUARTERS_API_TOKEN: API_TOKEN })).stdout) as { status: string };
    expect(whole.status).toBe('cancelled');
    const denied = await quarters(withServer(['ns', 'cancel', 'pngset']), { QUARTERS_API_TOKEN: 'not-the-token-0123456789' });
    expect([denied.code, denied.stderr]).toEqual([1, expect.stringMatching(/^quarters: POST \/api\/v1\/namespaces\/pngset\/cancel: 401 unauthorized: /)]);
  });

  it('shows a build, and its log: the stored one of a local build, the job URL of a GitLab build', async () => {
    const store = rig.server.store;
    const zlib = store.builds(store.latestIteration(store.namespaceByName('pngset')!.id)!.id).find((b) => b.pkgbase === 'zlib')!;
    const show = await quarters(withServer(['build', 'show', String(zlib.id)]));
    expect(show.code).toBe(0);
    expect(show.stdout).toMatch(new RegExp(`^build: +${zlib.id}\nbuild set: +pngset, iteration 1\npkgbase: +zlib\narch: +x86_64\n`));
    expect(show.stdout).toMatch(/^pipeline: +http:\/\/.*\/-\/pipelines\/\d+$/m);
    const json = JSON.parse((await quarters(withServer(['build', 'show', String(zlib.id), '--json']))).stdout) as Record<string, unknown>;
    expect(json).toMatchObject({ id: zlib.id, pkgbase: 'zlib', namespace: 'pngset', iteration: 1, state: 'building' });
    const gitlabLog = await quarters(withServer(['build', 'log', String(zlib.id)]));
    expect([gitlabLog.code, gitlabLog.stdout]).toEqual([0, zlib.pipeline_url]);
    const noBuild = await quarters(withServer(['build', 'log', '999999']));
    expect([noBuild.code, noBuild.stderr]).toEqual([1, 'quarters: GET /api/v1/builds/999999/log: 404 not_found: no build 999999']);

    // A local build set, as `quarters build` leaves it, with its log under data_dir/logs.
    const ns = store.createNamespace({ name: 'mine', origin: ['hello@stable'], kind: 'local', packager: null, target_branch: 'stable', mr_project_id: null, mr_iid: null });
    const iteration = store.addIteration(ns.id, 'local build', { cycles: [], unresolved: [] }, [
      { pkgbase: 'hello', arch: 'x86_64', pass: 1, project_id: 0, project_path: '/src/hello', ref: 'stable', sha: 'abc', version: '1.0-1', dependsOn: [], input_key: 'abc', state: 'blocked', packager: null },
    ]);
    const hello = store.builds(iteration.id)[0]!;
    const notStarted = await quarters(withServer(['build', 'log', String(hello.id)]));
    expect([notStarted.code, notStarted.stderr]).toEqual([1, `quarters: GET /api/v1/builds/${hello.id}/log: 404 no_log: build ${hello.id} (hello/x86_64) has no log: it never started`]);
    const log = join(rig.config.data_dir, buildLogPath('mine', 1, 'x86_64', 'hello'));
    mkdirSync(join(log, '..'), { recursive: true });
    writeFileSync(log, '==> Making package: hello 1.0-1\nbuild() failed\n');
    const local = await quarters(withServer(['build', 'log', String(hello.id)]));
    expect([local.code, local.stdout]).toEqual([0, '==> Making package: hello 1.0-1\nbuild() failed']);
    const localJson = JSON.parse((await quarters(withServer(['build', 'log', String(hello.id), '--json']))).stdout) as unknown;
    expect(localJson).toEqual({ build: hello.id, url: null, log: '==> Making package: hello 1.0-1\nbuild() failed\n' });
  });

  it('reads the server and token from client.toml under XDG_CONFIG_HOME, and names the file and key of a bad one', async () => {
    const dir = join(home, 'config', 'quarters');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, 'client.toml');
    writeFileSync(file, `server = "${rig.url}"\ntoken_file = "../../api.token"\n`);
    const list = await quarters(['ns', 'list']);
    expect(list.stdout).toMatch(/^pngset {2}active/);
    const created = await quarters(['ns', 'new', '--name', 'from-config', 'libpng@main']);
    expect([created.code, created.stdout.split('\n')[0]]).toEqual([0, 'created from-config']);
    // The environment comes before the file, and a flag before both.
    const nobody = `http://127.0.0.1:${await freePort()}`;
    const envFirst = await quarters(['ns', 'list'], { QUARTERS_SERVER: nobody });
    expect(envFirst.stderr).toBe(`quarters: cannot reach ${nobody}: ECONNREFUSED`);
    expect((await quarters(['ns', 'list', '--server', rig.url], { QUARTERS_SERVER: nobody })).code).toBe(0);

    writeFileSync(file, `server = "${rig.url}"\ntokn = "x"\n`);
    const bad = await quarters(['ns', 'list']);
    expect([bad.code, bad.stderr]).toEqual([1, `quarters: ${file}: unknown key "tokn"`]);
    writeFileSync(file, 'server = "not a url"\n');
    expect((await quarters(['ns', 'list'])).stderr).toBe(`quarters: ${file}: server: Invalid URL`);
    writeFileSync(file, 'server = [\n');
    expect((await quarters(['ns', 'list'])).stderr).toMatch(new RegExp(`^quarters: ${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: line \\d+, column \\d+: `));
    rmSync(file);
  });

  it('watches a build set until it settles: 0 when all are built, 1 otherwise', async () => {
    const store = rig.server.store;
    const pipelineOf = (set: string, pkgbase: string) => store.builds(store.latestIteration(store.namespaceByName(set)!.id)!.id).find((b) => b.pkgbase === pkgbase)!.pipeline_id!;
    const watch = (set: string) => execa('node', [CLI, 'ns', 'watch', set, '--interval', '0.2'], { reject: false, env: env({ QUARTERS_SERVER: rig.url }), extendEnv: false });

    expect((await quarters(withServer(['ns', 'new', '--name', 'watched', 'cairo@main']), { QUARTERS_API_TOKEN: API_TOKEN })).code).toBe(0);
    const good = watch('watched');
    await new Promise((done) => setTimeout(done, 800));
    await rig.gitlab.state.finishPipeline(pipelineOf('watched', 'cairo'), 'success');
    await rig.server.drain();
    const ok = await good;
    expect([ok.exitCode, ok.stderr]).toEqual([0, '']);
    expect(ok.stdout.split('\n').map((l) => l.replace(/^\[\d+:\d\d\] /, ''))).toEqual(['watched: iteration 1, 1 builds', 'cairo/x86_64 dispatched', 'cairo/x86_64 built', 'watched: settled: built=1']);

    expect((await quarters(withServer(['ns', 'new', '--name', 'watchfail', 'libpng@main']), { QUARTERS_API_TOKEN: API_TOKEN })).code).toBe(0);
    const bad = watch('watchfail');
    await new Promise((done) => setTimeout(done, 800));
    await rig.gitlab.state.finishPipeline(pipelineOf('watchfail', 'libpng'), 'failed');
    await rig.server.drain();
    const failed = await bad;
    expect(failed.exitCode).toBe(1);
    expect(failed.stdout).toMatch(/\] libpng\/x86_64 failed/);
    expect(failed.stdout).toMatch(/\] cairo\/x86_64 dependency-failed: dependency libpng\/x86_64 failed/);
    expect(failed.stdout.split('\n').at(-1)).toMatch(/\] watchfail: settled: (failed=1 dependency-failed=1|dependency-failed=1 failed=1)$/);

    const usage = await quarters(withServer(['ns', 'watch', 'watched', '--interval', '0']));
    expect([usage.code, usage.stderr]).toEqual([2, 'quarters: ns watch: --interval is seconds from 0.1 to 3600, not "0"']);
  });

  it('completes subcommands and options in bash from `quarters completion bash`', async () => {
    const script = join(home, 'quarters.bash');
    writeFileSync(script, (await quarters(['completion', 'bash'])).stdout);
    const complete = async (...words: string[]) => {
      const probe = `source ${script}; COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _quarters; printf '%s\\n' "\${COMPREPLY[@]}"`;
      return (await execa('bash', ['--norc', '-c', probe], { cwd: home })).stdout.split('\n').filter(Boolean).sort();
    };
    expect(await complete('quarters', '')).toEqual(['build', 'builders', 'completion', 'gc', 'graph', 'image', 'index', 'ns', 'server']);
    expect(await complete('quarters', 'ns', 're')).toEqual(['release', 'releases', 'resume', 'retry']);
    expect(await complete('quarters', 'ns', 'release', 'x', '--to', 'core', '--d')).toEqual(['--dry-run']);
    expect(await complete('quarters', 'ns', 'cr')).toEqual(['create']);
    expect(await complete('quarters', 'ns', 'show', 'x', '--s')).toEqual(['--server', '--state']);
    expect(await complete('quarters', 'ns', 'create', '--name', 'n', '--p')).toEqual(['--packager']);
    expect(await complete('quarters', 'build', '--jobs', '2', '--cy')).toEqual(['--cycle-rebuild']);
    expect(await complete('quarters', 'build', '--data-dir', 'quarters.b')).toEqual(['quarters.bash']);
    expect(await complete('quarters', 'completion', '')).toEqual(['bash', 'zsh']);
    const zsh = (await quarters(['completion', 'zsh'])).stdout;
    expect(zsh).toMatch(/^#compdef quarters\n[^]*bashcompinit[^]*complete -o filenames -F _quarters quarters$/);
  });
});
