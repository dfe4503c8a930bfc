/**
 * A package repository's CI job end to end: the job from infrastructure/ci/quarters-build.gitlab-ci.yml,
 * run by the runner emulator through the real quarters-executor on the Arch-on-Debian base OS, with
 * vm/quarters-build in the guest, uploading the built package to a stand-in of the server.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { parse } from 'yaml';
import { runJob } from './runner-emulator/emulator.js';
import { createExecutorFixture, EXECUTOR, TEST_HOST_USER, type ExecutorFixture } from './support/executor-fixture.js';
import { containerSkipReason, reportSkip } from './support/capabilities.js';
import { startArtifactServer, type ArtifactServer } from './support/artifact-server.js';
import { archBaseSkipReason, archBaseTree } from './support/arch-base.js';

const TEMPLATE = fileURLToPath(new URL('../infrastructure/ci/quarters-build.gitlab-ci.yml', import.meta.url));
const DRIVER = fileURLToPath(new URL('../vm/quarters-build', import.meta.url));
const PACKAGER = 'Jane Doe <jane.doe@example.org>';
const HELLO = '#!/bin/sh\necho hello from quarters\n';

function skipReason(): string | null {
  if (!existsSync(EXECUTOR[1])) return `the executor is not built (${EXECUTOR[1]}); run npm test, which builds first`;
  return containerSkipReason() ?? archBaseSkipReason();
}
const skip = reportSkip(skipReason(), 'the quarters-build CI job through quarters-executor');

/**
 * Two ways a runner host can give the job its network: the job's whole script gets it (and the driver
 * cuts the build off), or the executor runs `quarters-build fetch` with network first and the job's
 * script, build included, runs in a private network (the template's own `fetch` then finds the sources there).
 */
const NETWORK_SETUPS = [
  { name: 'network for the job script', network: 'build = true', shows: /WARNING: the build runs with no network at all, not even loopback/ },
  { name: "the executor's fetch step, then a private network", network: 'build = false\nfetch_command = ["quarters-build", "fetch"]', shows: /quarters: fetching sources with network: quarters-build fetch/ },
];

describe.skipIf(skip).each(NETWORK_SETUPS)('the quarters-build CI job through quarters-executor ($name)', ({ network, shows }) => {
  let fx: ExecutorFixture;
  let server: ArtifactServer;
  let repository: string;

  beforeAll(async () => {
    fx = await createExecutorFixture('', { loadBase: false });
    await writeFile(join(fx.dir, 'executor.token'), 'executor-token\n');
    await fx.writeConfig(`[server]\ntoken_file = "executor.token"\nupload_attempts = 1\n[network]\n${network}`);
    // The base OS as a runner host would have it: the Arch-on-Debian base with the driver installed.
    const tarball = join(fx.dir, 'base-with-driver.tar');
    await execa('tar', ['--create', '--numeric-owner', '--file', tarball, '--directory', await archBaseTree(), '.',
      '--directory', join(DRIVER, '..'), '--transform', 's,^quarters-build$,./usr/local/bin/quarters-build,', 'quarters-build']);
    const loaded = await fx.cli(['baseos', 'load', '--tarball', tarball]);
    if (loaded.exitCode !== 0) throw new Error(`baseos load failed: ${loaded.stderr}`);
    await rm(tarball);

    repository = join(fx.dir, 'quarters-hello.git');
    await mkdir(repository);
    await writeFile(join(repository, 'hello.sh'), HELLO);
    const sum = (await execa('sha256sum', [join(repository, 'hello.sh')])).stdout.split(' ')[0];
    await writeFile(join(repository, 'PKGBUILD'), [
      'pkgname=quarters-hello', 'pkgver=1.0', 'pkgrel=1', "arch=('any')", "source=('hello.sh')", `sha256sums=('${sum}')`,
      'package() {', '  install -Dm755 "$srcdir/hello.sh" "$pkgdir/usr/bin/quarters-hello"', '}', '',
    ].join('\n'));
    const git = (args: string[]) => execa('git', ['-c', 'user.name=Jane Doe', '-c', 'user.email=jane.doe@example.org', ...args], { cwd: repository });
    await git(['init', '--quiet', '--initial-branch=main']);
    await git(['add', '-A']);
    await git(['commit', '--quiet', '-m', 'quarters-hello 1.0-1']);
    // The host user clones it, and git trusts only repositories its user owns.
    await execa('chown', ['-R', TEST_HOST_USER, repository]);
    server = await startArtifactServer();
  }, 900_000); // a cold cache means debootstrap: minutes
  afterAll(async () => {
    await server?.close();
    await fx?.remove();
  });

  it('builds the package with the template job, the build cut from the network, and uploads it with its packager', async () => {
    const template = parse(readFileSync(TEMPLATE, 'utf8')) as { 'quarters-build': { script: string[] } };
    const result = await runJob({
      id: 901,
      projectId: 12,
      projectPath: 'packages/quarters-hello',
      repository,
      variables: { QUARTERS_SERVER_URL: server.url, QUARTERS_BUILD_ID: 'b901', QUARTERS_PACKAGER: PACKAGER },
      steps: [{ name: 'script', script: template['quarters-build'].script }],
      artifactPaths: ['quarters-logs/'],
    }, { executor: EXECUTOR, env: fx.env });
    expect(result.outcome, result.trace).toBe('success');
    expect(result.trace).toMatch(/\$ quarters-build fetch\n[^]*hello\.sh \.\.\. Passed[^]*\$ quarters-build build\n/);
    expect(result.trace).toMatch(/Finished making: quarters-hello 1\.0-1/);
    // With the host's network, nspawn withholds CAP_NET_ADMIN, so the driver cannot bring lo up and says so; with the fetch step the whole script is offline.
    expect(result.trace).toMatch(shows);

    // The template keeps the driver's full logs as artifacts (collected on the host, by the host user).
    const log = join(result.artifactsDir, 'quarters-logs', 'build.log');
    expect(readFileSync(log, 'utf8')).toMatch(/Finished making: quarters-hello 1\.0-1/);
    await rm(result.artifactsDir, { recursive: true, force: true });

    expect(server.received.map((upload) => upload.url)).toEqual(['PUT /api/v1/builds/b901/artifacts/quarters-hello-1.0-1-any.pkg.tar.zst']);
    const pkg = join(fx.dir, 'uploaded.pkg.tar.zst');
    await writeFile(pkg, server.received[0]!.body);
    const pkginfo = (await execa('tar', ['--zstd', '-xOf', pkg, '.PKGINFO'])).stdout;
    expect(pkginfo).toMatch(/^packager = Jane Doe <jane\.doe@example\.org>$/m);
    expect((await execa('tar', ['--zstd', '-xOf', pkg, 'usr/bin/quarters-hello'])).stdout).toBe(HELLO.trimEnd());
  }, 600_000);
});
