/**
 * `quarters build` end to end, as root with real containers: three tiny Arch bundles (qa ← qb ← qc)
 * built in dependency order in the executor's nspawn environment on the Arch-on-Debian base OS,
 * each seeing what was built before it through the build set's repository; the store and the
 * repository afterwards; a failing middle package; and `quarters server` without [gitlab] serving it all.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { mkdir, writeFile } from 'node:fs/promises';
import { freePort } from './support/free-port.js';
import { join, resolve } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { BuildStore, type BuildRow } from '../src/server/store/build-store.js';
import { openDatabase } from '../src/server/store/database.js';
import { archBaseSkipReason, archBaseTarball } from './support/arch-base.js';
import { archBundleFiles } from './support/arch-recipe.js';
import { backendSkipReason, reportSkip, TEST_BACKENDS } from './support/capabilities.js';
import { createExecutorFixture, EXECUTOR, type ExecutorFixture, type TestBackend } from './support/executor-fixture.js';
import { mountsMentioning, processesWith } from './support/processes.js';

const CLI = resolve(import.meta.dirname, '../dist/cli/main.js');

function skipReason(backend: TestBackend): string | null {
  if (!existsSync(CLI) || !existsSync(EXECUTOR[1])) return `quarters is not built (${CLI}); run npm test, which builds first`;
  return backendSkipReason(backend) ?? archBaseSkipReason();
}

interface Recipe {
  depends?: string;
  /** The body of package(); $pkgdir is the package root. */
  package: string;
  build?: string;
}

/** Writes a bundle: PKGBUILD and the .SRCINFO makepkg --printsrcinfo would write for it. */
async function writeBundle(root: string, pkgbase: string, recipe: Recipe): Promise<string> {
  const dir = join(root, pkgbase);
  await mkdir(dir, { recursive: true });
  const files = archBundleFiles({
    pkgbase,
    pkgdesc: `${pkgbase} for the local build test`,
    depends: recipe.depends ? [recipe.depends] : [],
    ...(recipe.build ? { build: [recipe.build] } : {}),
    package: [recipe.package],
  });
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
  return dir;
}

/** qa ships a file; qb copies it from the installed qa (so qa must come from the repository); qc needs qb. */
async function writeChain(root: string, brokenQb = false): Promise<string[]> {
  return [
    // qc also leaves a symlink to a host file among the packages, as a hostile recipe could: the host must not follow it.
    await writeBundle(root, 'qc', { depends: 'qb', package: 'mkdir -p "$pkgdir/usr/share/qc"; echo qc > "$pkgdir/usr/share/qc/id"; ln -sf /etc/hostname /output/qleak-1.0-1-any.pkg.tar.zst' }),
    await writeBundle(root, 'qb', {
      depends: 'qa',
      ...(brokenQb ? { build: 'echo "qb is broken on purpose" >&2; exit 3' } : {}),
      package: 'mkdir -p "$pkgdir/usr/share/qb"; cat /usr/share/qa/message > "$pkgdir/usr/share/qb/from-qa"',
    }),
    await writeBundle(root, 'qa', { package: 'mkdir -p "$pkgdir/usr/share/qa"; echo "message from qa" > "$pkgdir/usr/share/qa/message"' }),
  ];
}

// The same builds on every backend: containers, and VMs (a boot per step, emulated where KVM is not usable).
for (const backend of TEST_BACKENDS) {
  const skip = reportSkip(skipReason(backend), `quarters build (local builds, ${backend})`);

  /** On VMs only what depends on the backend runs (the chain, SIGTERM, serving): planning, failures and refusals are the builder's, the same on both; each VM build boots twice, emulated here. */
  const vmSkip = (what: string): boolean => backend === 'qemu' && reportSkip('the same on every backend, run on containers; CI time', `quarters build on VMs: ${what}`);

  describe.skipIf(skip)(`quarters build (local builds, real ${backend === 'qemu' ? 'VMs' : 'containers'})`, () => {
    let fx: ExecutorFixture;
    let dataDir: string;
    const quarters = (args: string[]) => execa('node', [CLI, ...args], { reject: false, env: { QUARTERS_EXECUTOR_CONFIG: fx.configFile } });
    const buildsOf = (name: string): BuildRow[] => {
      const db = openDatabase(dataDir);
      try {
        const store = new BuildStore(db);
        const ns = store.namespaceByName(name)!;
        expect(ns.kind).toBe('local');
        return store.builds(store.latestIteration(ns.id)!.id);
      } finally {
        db.close();
      }
    };
    const byName = (builds: BuildRow[]) => Object.fromEntries(builds.map((b) => [b.pkgbase, b]));

    beforeAll(async () => {
      // No package manager refresh for the instance layer: the test base is offline and stays as it is.
      fx = await createExecutorFixture('[instance]\npackage_manager = "none"', { loadBase: false, backend });
      const loaded = await fx.cli(['baseos', 'load', '--tarball', await archBaseTarball()]);
      if (loaded.exitCode !== 0) throw new Error(`baseos load failed: ${loaded.stderr}`);
      dataDir = join(fx.dir, 'data');
    }, 900_000);
    afterAll(async () => {
      await fx?.remove();
    });

    it('builds a chain in dependency order, each build installing the earlier ones from the build set repository', async () => {
      const bundles = await writeChain(join(fx.dir, 'chain'));
      const result = await quarters(['build', ...bundles, '--data-dir', dataDir, '--name', 'chain', '--jobs', '2']);
      expect(result.exitCode, `${result.stdout}\n${result.stderr}`).toBe(0);
      expect(result.stderr).toMatch(/wave 1: qa\n\s+wave 2: qb\n\s+wave 3: qc/);
      expect(result.stderr).toMatch(/wave 1: building qa[^]*wave 1: built qa[^]*wave 2: building qb[^]*wave 2: built qb[^]*wave 3: building qc[^]*wave 3: built qc/);

      const builds = byName(buildsOf('chain'));
      expect(Object.values(builds).map((b) => b.state)).toEqual(['built', 'built', 'built']);
      // Each started only after what it depends on had finished.
      expect(Date.parse(builds.qb!.started_at!)).toBeGreaterThanOrEqual(Date.parse(builds.qa!.finished_at!));
      expect(Date.parse(builds.qc!.started_at!)).toBeGreaterThanOrEqual(Date.parse(builds.qb!.finished_at!));
      expect(builds.qc!.depends_on).toEqual([builds.qb!.id]);

      const repo = join(dataDir, 'repos', 'chain', '1', 'x86_64');
      const index = (await execa('tar', ['-tf', join(repo, 'quarters.db')])).stdout.split('\n');
      expect(index.filter((e) => /^[^/]+\/desc$/.test(e)).sort()).toEqual(['qa-1.0-1/desc', 'qb-1.0-1/desc', 'qc-1.0-1/desc']);
      // qb's package holds what qa installed in its container.
      const qb = join(repo, 'qb-1.0-1-any.pkg.tar.zst');
      expect((await execa('tar', ['-xOf', qb, 'usr/share/qb/from-qa'])).stdout).toBe('message from qa');
      expect(readdirSync(repo).filter((name) => name.includes('qleak'))).toEqual([]);
      // Every container and workspace is gone.
      expect(readdirSync(join(fx.workDir, 'workspaces'))).toEqual([]);
      expect(readdirSync(join(fx.workDir, 'builds'))).toEqual([]);
      expect(mountsMentioning(fx.dir)).toEqual([]);
    }, 900_000);

    it('rebuilds nothing when the same bundles are built again under the same name', async () => {
      const bundles = await writeChain(join(fx.dir, 'chain'));
      const result = await quarters(['build', ...bundles, '--data-dir', dataDir, '--name', 'chain']);
      expect(result.exitCode, result.stderr).toBe(0);
      expect(result.stderr).toMatch(/not rebuilt: .*qa/);
      expect(result.stderr).not.toMatch(/building q/);
      const builds = buildsOf('chain');
      expect(builds.map((b) => [b.state, b.reused_from !== null])).toEqual([['built', true], ['built', true], ['built', true]]);
      const index = (await execa('tar', ['-tf', join(dataDir, 'repos', 'chain', '2', 'x86_64', 'quarters.db')])).stdout;
      expect(index).toMatch(/qc-1\.0-1\/desc/);
    }, 300_000);

    it.skipIf(vmSkip('fails a broken middle package'))('fails a broken middle package, shows its log, and skips its dependant with the reason', async () => {
      const bundles = await writeChain(join(fx.dir, 'broken'), true);
      const result = await quarters(['build', ...bundles, '--data-dir', dataDir, '--name', 'broken']);
      expect(result.exitCode).toBe(1);
      const builds = byName(buildsOf('broken'));
      expect(builds.qa!.state).toBe('built');
      expect(builds.qb!.state).toBe('failed');
      expect(builds.qb!.reason).toMatch(/quarters-build build exited with \d+/);
      expect(builds.qc!.state).toBe('dependency-failed');
      expect(builds.qc!.reason).toBe(`dependency qb/x86_64 failed: ${builds.qb!.reason}`);
      const log = join(dataDir, 'logs', 'broken', '1', 'x86_64', 'qb.log');
      expect(result.stderr).toContain(`FAILED qb`);
      expect(result.stderr).toMatch(/last 30 lines of the log[^]*qb is broken on purpose/);
      expect(result.stderr).toContain(`full log: ${log}`);
      expect(readFileSync(log, 'utf8')).toContain('qb is broken on purpose');
      // The driver's own log outlives the container, at the path the driver printed.
      const driverLog = join(dataDir, 'logs', 'broken', '1', 'x86_64', 'qb', 'build.log');
      expect(result.stderr).toContain(`the full log is ${driverLog}`);
      expect(readFileSync(driverLog, 'utf8')).toContain('qb is broken on purpose');
      expect(result.stderr).toContain(`skipped qc: dependency qb/x86_64 failed`);
      expect(result.stdout).toMatch(/^qc\s+dependency-failed\s+dependency qb\/x86_64 failed/m);
    }, 900_000);

    it.skipIf(vmSkip('refuses a package its recipe does not produce'))('refuses a package its recipe does not produce, checked by what the file says of itself', async () => {
      // A hostile recipe forges a real pacman package that claims to be glibc and drops it among the outputs.
      const forge = [
        'mkdir -p "$pkgdir/usr/share/qf" "$srcdir/forged"; echo qf > "$pkgdir/usr/share/qf/id"',
        'printf "pkgname = glibc\\npkgver = 9.9-1\\narch = x86_64\\n" > "$srcdir/forged/.PKGINFO"',
        'bsdtar --zstd -cf /output/glibc-9.9-1-x86_64.pkg.tar.zst -C "$srcdir/forged" .PKGINFO',
      ].join('; ');
      const bundle = await writeBundle(join(fx.dir, 'forged'), 'qf', { package: forge });
      const result = await quarters(['build', bundle, '--data-dir', dataDir, '--name', 'forged']);
      expect(result.exitCode).toBe(1);
      const qf = buildsOf('forged')[0]!;
      expect(qf.state).toBe('failed');
      expect(qf.reason).toMatch(/cannot go into the repository: build \d+ \(qf 1\.0-1\): .*glibc/);
      const repo = join(dataDir, 'repos', 'forged', '1', 'x86_64');
      expect(existsSync(repo) ? readdirSync(repo).filter((f) => f.includes('glibc')) : []).toEqual([]);
    }, 600_000);

    it.skipIf(vmSkip('plans AOSC bundles the same way'))('plans AOSC bundles the same way, and names the missing autobuild of a Debian base as the build failure', async () => {
      process.stderr.write('SKIPPED a successful AOSC local build: autobuild is not installable on the Debian base; planning, the driver\'s refusal and the dependant are tested\n');
      const root = join(fx.dir, 'aosc');
      const aosc = async (name: string, defines: string) => {
        await mkdir(join(root, name, 'autobuild'), { recursive: true });
        await writeFile(join(root, name, 'spec'), 'VER=1.0\nREL=1\n');
        await writeFile(join(root, name, 'autobuild', 'defines'), `PKGNAME=${name}\nPKGSEC=libs\nPKGDES="${name} for tests"\n${defines}`);
        return join(root, name);
      };
      const bundles = [await aosc('mica-count', 'PKGDEP="libmica"\n'), await aosc('libmica', '')];
      const result = await quarters(['build', ...bundles, '--data-dir', join(fx.dir, 'aosc-data'), '--name', 'mica']);
      expect(result.exitCode).toBe(1);
      expect(result.stderr).toMatch(/wave 1: libmica\n\s+wave 2: mica-count/);
      expect(result.stderr).toMatch(/autobuild is not installed in this build environment/);
      expect(result.stdout).toMatch(/^libmica\s+failed\s+quarters-build build exited with \d+$/m);
      expect(result.stdout).toMatch(/^mica-count\s+dependency-failed\s+dependency libmica\/x86_64 failed/m);
    }, 300_000);

    it('stops on SIGTERM: the running build is killed and torn down, every unfinished build cancelled, exit 130', async () => {
      const root = join(fx.dir, 'stopped');
      await writeChain(root);
      await writeBundle(root, 'qa', { build: 'sleep 313', package: ':' });
      const child = execa('node', [CLI, 'build', join(root, 'qa'), join(root, 'qb'), join(root, 'qc'), '--data-dir', dataDir, '--name', 'stopped'], { reject: false, env: { QUARTERS_EXECUTOR_CONFIG: fx.configFile } });
      let stderr = '';
      child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      // Stop it once qa's build step is running in its container.
      for (let i = 0; i < 600 && !existsSync(join(dataDir, 'logs', 'stopped', '1', 'x86_64', 'qa', 'build.log')); i++) await new Promise((done) => setTimeout(done, 200));
      await new Promise((done) => setTimeout(done, 1000));
      // What the guest writes on the host (build and output directories, the driver's logs) is on nosuid,nodev mounts while it runs.
      const qaLogs = join(dataDir, 'logs', 'stopped', '1', 'x86_64', 'qa');
      const build = readdirSync(join(fx.workDir, 'workspaces'))[0]!;
      for (const point of [qaLogs, join(fx.workDir, 'builds', build), join(fx.workDir, 'workspaces', build, 'mount')]) {
        expect(mountsMentioning(` ${point} `).join('\n'), point).toMatch(/ rw,nosuid,nodev[, ]/);
      }
      child.kill('SIGTERM');
      const result = await child;
      expect(result.exitCode, stderr).toBe(130);
      expect(stderr).toContain('received SIGTERM: stopping the running builds');
      expect(buildsOf('stopped').map((b) => [b.pkgbase, b.state])).toEqual([['qa', 'cancelled'], ['qb', 'cancelled'], ['qc', 'cancelled']]);
      expect(readdirSync(join(fx.workDir, 'workspaces'))).toEqual([]);
      expect(mountsMentioning(fx.dir)).toEqual([]);
      expect(readdirSync(qaLogs)).toContain('build.log');
      expect(processesWith('sleep 313')).toEqual([]);
    }, 300_000);

    it('is served by quarters server without [gitlab]: the API, quarters ns, and /repos', async () => {
      const port = await freePort();
      const config = join(fx.dir, 'server.toml');
      await writeFile(config, `listen = "127.0.0.1:${port}"\npublic_url = "http://127.0.0.1:${port}"\ndata_dir = "${dataDir}"\n\n[build]\nflavour = "pkgbuild"\narchitectures = ["x86_64"]\n`);
      const server: ResultPromise = execa('node', [CLI, 'server', '--config', config], { reject: false, env: { QUARTERS_LOG_LEVEL: 'warn' } });
      try {
        const url = `http://127.0.0.1:${port}`;
        await waitFor(`${url}/healthz`);
        const shown = (await (await fetch(`${url}/api/v1/namespaces/chain`)).json()) as { kind: string; builds: { pkgbase: string; arch: string; state: string; pipeline_id: number | null }[] };
        expect(shown.kind).toBe('local');
        expect(shown.builds.map((b) => [b.pkgbase, b.arch, b.state, b.pipeline_id]).sort()).toEqual([['qa', 'x86_64', 'built', null], ['qb', 'x86_64', 'built', null], ['qc', 'x86_64', 'built', null]]);
        // The broken build set is made on containers only (vmSkip).
        if (backend === 'nspawn') {
          const broken = (await (await fetch(`${url}/api/v1/namespaces/broken`)).json()) as { builds: { pkgbase: string; state: string }[] };
          expect(Object.fromEntries(broken.builds.map((b) => [b.pkgbase, b.state]))).toEqual({ qa: 'built', qb: 'failed', qc: 'dependency-failed' });
        }

        const db = await fetch(`${url}/repos/chain/latest/x86_64/quarters.db`);
        expect(db.status).toBe(200);
        expect(Buffer.from(await db.arrayBuffer()).equals(readFileSync(join(dataDir, 'repos', 'chain', '2', 'x86_64', 'quarters.db')))).toBe(true);

        const list = await quarters(['ns', 'list', '--server', url]);
        expect(list.stdout).toMatch(/^chain\s+active\s+iteration 2\s+built=3$/m);
        if (backend === 'nspawn') {
          const show = await quarters(['ns', 'show', 'broken', '--server', url]);
          expect(show.stdout).toMatch(/^\d+\s+qc\s+x86_64\s+dependency-failed\s+-\s+dependency qb\/x86_64 failed/m);
        }
      } finally {
        server.kill('SIGTERM');
        await server;
      }
    }, 120_000);
  });

}

async function waitFor(url: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (await fetch(url).then((r) => r.ok, () => false)) return;
    await new Promise((done) => setTimeout(done, 100));
  }
  throw new Error(`${url} did not answer`);
}

describe.skipIf(!existsSync(CLI))('quarters build: bad input gets one line and a non-zero exit', () => {
  const run = async (args: string[], env: Record<string, string> = {}) => {
    const result = await execa('node', [CLI, 'build', ...args], { reject: false, env: { QUARTERS_CONFIG: '', ...env } });
    return { code: result.exitCode, stderr: result.stderr };
  };
  let root: string;
  let bundle: string;
  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'quarters-build-cli-'));
    bundle = await writeBundle(root, 'qa', { package: ':' });
  });

  it.each([
    [[], 2, /^quarters: quarters build: give at least one bundle directory/],
    [['BUNDLE'], 2, /^quarters: quarters build: give --data-dir DIR, or --config FILE/],
    [['BUNDLE', '--data-dir', 'D', '--jobs', '0'], 2, /^quarters: quarters build: --jobs wants a number of builds from 1 to 999, not "0"$/],
    [['BUNDLE', '--data-dir', 'D', '--parallel', '2'], 2, /^quarters: build: unknown option '--parallel'/],
    [['ROOT/nothing-here', '--data-dir', 'D'], 1, /^quarters: ROOT\/nothing-here: not a directory/],
    [['BUNDLE', '--data-dir', 'D', '--executor-config', 'ROOT/executor.toml'], 1, /^quarters: ROOT\/executor\.toml: cannot read the config file: ENOENT$/],
  ])('%j exits %i', async (args, code, message) => {
    const fill = (s: string) => s.replace('BUNDLE', bundle).replace('ROOT', root).replace(/^D$/, join(root, 'data'));
    const result = await run(args.map(fill));
    expect(result.code).toBe(code);
    expect(result.stderr.split('\n')[0]).toMatch(new RegExp(message.source.replace(/ROOT/g, root.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&'))));
  });

  it('names the missing base OS of an executor work dir that has none', async () => {
    const config = join(root, 'empty-executor.toml');
    await mkdir(join(root, 'sources'), { recursive: true });
    await writeFile(join(root, 'sources', 'stable.list'), '');
    await writeFile(config, `work_dir = "${join(root, 'work')}"\nsource_lists = "${join(root, 'sources')}"\nhost_user = "65534:65534"\n`);
    const result = await run([bundle, '--data-dir', join(root, 'data'), '--executor-config', config]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/no base OS loaded under .*: run "quarters-executor baseos load --tarball FILE"/);
  });
});
