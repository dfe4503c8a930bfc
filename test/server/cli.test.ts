import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa, type ResultPromise } from 'execa';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startGitLabDouble, type GitLabDouble } from '../gitlab-double/index.js';
import { tempDir } from './http-harness.js';
import { API_TOKEN, EXECUTOR_TOKEN, srcinfo, WEBHOOK_SECRET } from './server-harness.js';

const CLI = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
const quarters = (args: string[], env: Record<string, string> = {}) => execa('node', [CLI, ...args], { reject: false, env: { QUARTERS_LOG_LEVEL: 'info', ...env } });

describe('quarters server / index sync / ns (built CLI)', () => {
  let gitlab: GitLabDouble;
  let dir: string;
  let config: string;

  beforeAll(async () => {
    gitlab = await startGitLabDouble();
    gitlab.state.addProject({ path: 'packages/zlib', files: { '.SRCINFO': srcinfo('zlib') } });
    dir = tempDir('quarters-cli-');
    writeFileSync(join(dir, 'api.tokens'), `${API_TOKEN}\n`);
    config = join(dir, 'quarters.toml');
    writeFileSync(config, [
      'listen = "127.0.0.1:0"', 'public_url = "http://quarters.test"', `data_dir = "${join(dir, 'data')}"`,
      '[gitlab]', `url = "${gitlab.url}"`, `token = "${gitlab.token}"`, `webhook_secret = "${WEBHOOK_SECRET}"`, 'packages_group = "packages"',
      '[build]', 'flavour = "pkgbuild"', 'architectures = ["x86_64"]',
      '[api]', 'tokens_file = "api.tokens"', '[executor]', `tokens = ["${EXECUTOR_TOKEN}"]`, '',
    ].join('\n'));
  });
  afterAll(async () => gitlab?.close());

  it('stops on a bad config with a message naming the file and the key', async () => {
    const bad = join(dir, 'bad.toml');
    writeFileSync(bad, 'public_url = "x"\n');
    const result = await quarters(['server', '--config', bad]);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toBe(`quarters: ${bad}: public_url: Invalid URL`);
    const none = await quarters(['server']);
    expect(none.exitCode).toBe(2);
    expect(none.stderr).toMatch(/give --config FILE \(or set QUARTERS_CONFIG\)/);
  });

  it('syncs the index, serves, answers ns commands, and stops on SIGTERM', async () => {
    const sync = await quarters(['index', 'sync', '--config', config]);
    expect(sync.stdout).toBe('1 recipes indexed, 0 removed, 0 unreadable');
    expect(sync.exitCode).toBe(0);

    const server: ResultPromise = execa('node', [CLI, 'server'], { reject: false, env: { QUARTERS_CONFIG: config, QUARTERS_LOG_LEVEL: 'info' }, buffer: false });
    let seen = '';
    const url = await new Promise<string>((resolve, reject) => {
      server.stderr!.on('data', (chunk: Buffer) => {
        seen += chunk.toString();
        const match = /"url":"(http:\/\/127\.0\.0\.1:\d+)"/.exec(seen);
        if (match) resolve(match[1]!);
      });
      server.once('exit', () => reject(new Error(`server exited: ${seen}`)));
    });
    expect(await (await fetch(`${url}/healthz`)).json()).toMatchObject({ status: 'ok' });

    const denied = await quarters(['ns', 'create', 'zlib@main', '--server', url]);
    expect(denied.exitCode).toBe(2);
    const created = await quarters(['ns', 'create', '--name', 'cli-set', 'zlib@main', '--server', url], { QUARTERS_API_TOKEN: API_TOKEN });
    expect(created.stderr).toBe('');
    expect(created.stdout).toMatch(/^created cli-set\nID\s+PKGBASE\s+ARCH\s+STATE\s+PIPELINE\s+REASON\n\d+\s+zlib\s+x86_64\s+dispatched\s+\d+$/);
    const shown = await quarters(['ns', 'show', 'cli-set'], { QUARTERS_SERVER: url });
    expect(shown.stdout).toMatch(/^cli-set, iteration 1\n/);
    expect((await quarters(['ns', 'list', '--server', url])).stdout).toMatch(/^cli-set {2}active {2}iteration 1 {2}dispatched=1$/);
    const missing = await quarters(['ns', 'show', 'nope', '--server', url]);
    expect(missing.exitCode).toBe(1);
    expect(missing.stderr).toMatch(/404 not_found: no build set named "nope"/);

    server.kill('SIGTERM');
    expect((await server).exitCode).toBe(0);
    // The log has the requests, and never a secret.
    expect(seen).toContain('"path":"/api/v1/namespaces"');
    for (const secret of [gitlab.token, API_TOKEN, WEBHOOK_SECRET]) expect(seen).not.toContain(secret);
  });

  it('index sync indexes what it can, names each project it could not read on stderr, and exits 1', async () => {
    gitlab.state.addProject({ path: 'mixed/zlib', files: { '.SRCINFO': srcinfo('zlib') } });
    gitlab.state.addProject({ path: 'mixed/empty' });
    gitlab.state.addProject({ path: 'mixed/broken', files: { '.SRCINFO': 'not a srcinfo\n' } });
    const mixed = join(dir, 'mixed.toml');
    writeFileSync(mixed, readFileSync(config, 'utf8').replace('packages_group = "packages"', 'packages_group = "mixed"').replace(join(dir, 'data'), join(dir, 'mixed-data')));
    const sync = await quarters(['index', 'sync', '--config', mixed]);
    expect(sync.exitCode).toBe(1);
    expect(sync.stdout).toBe('1 recipes indexed, 0 removed, 2 unreadable');
    const named = sync.stderr.split('\n').filter((l) => l.startsWith('quarters: '));
    expect(named).toEqual([
      'quarters: not indexed: mixed/empty: it has no default branch (an empty repository)',
      expect.stringMatching(/^quarters: not indexed: mixed\/broken: .+ \(at [0-9a-f]{12}\)$/),
    ]);
  });
});
