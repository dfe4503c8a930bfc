import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chmod, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { runJob } from '../runner-emulator/emulator.js';
import { createExecutorFixture, EXECUTOR, type ExecutorFixture } from '../support/executor-fixture.js';
import { containerSkipReason, reportSkip } from '../support/capabilities.js';
import { processesWith } from '../support/processes.js';
import { serverRepository } from '../support/build-set-repository.js';
import { pacmanPackage } from '../support/packages.js';

const skip = reportSkip(containerSkipReason(), 'executor limits and the fetch step');

describe.skipIf(skip)('quarters-executor limits, the fetch step, what the guest is offered', () => {
  let fx: ExecutorFixture;
  // A service of the host's that listens on loopback only: recipe code in the fetch step must not reach it.
  const hostOnly = { server: null as Server | null, requests: 0, port: 0 };

  beforeAll(async () => {
    hostOnly.server = createServer((_request, response) => {
      hostOnly.requests++;
      response.end('host-only-service\n');
    });
    await new Promise<void>((resolve) => hostOnly.server!.listen(0, '127.0.0.1', resolve));
    hostOnly.port = (hostOnly.server.address() as AddressInfo).port;
    // The fetch step records how many network interfaces it saw, whether it reached the host's loopback
    // (directly, and as slirp's gateway 10.0.2.2), its routes, and leaves a "source" in the workspace layer.
    const fetch = [
      'tail -n +3 /proc/net/dev | wc -l > /var/tmp/fetch-interfaces; pwd > /var/tmp/fetch-cwd; echo source > /var/tmp/source.tar',
      // busybox nc, not wget: the static busybox's wget crashes without a resolver setup.
      `for a in 127.0.0.1 10.0.2.2; do printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3 $a ${hostOnly.port} >> /var/tmp/fetch-reached 2>&1; done; true`,
      'awk \'$2 == "00000000" { print "default route via " $1 }\' /proc/net/route > /var/tmp/fetch-route',
    ].join('\n');
    fx = await createExecutorFixture('', { loadBase: true });
    // The server's data_dir/repos on a shared filesystem: NAMESPACE/ITERATION/ARCH.
    const { reposDir: repos } = await serverRepository('pkgbuild', { namespace: 'ns1', iteration: 3, arch: 'x86_64' }, [await pacmanPackage({ name: 'zlib', version: '1.3-1' })], join(fx.dir, 'data'));
    const driver = join(fx.dir, 'quarters-build');
    await writeFile(driver, '#!/bin/sh\necho "driver called with: $*"\n');
    await chmod(driver, 0o755);
    await fx.writeConfig(`repositories_dir = "${repos}"\nbuild_driver = "${driver}"\n[limits]\nbuild_timeout_minutes = 0.05\n[network]\nfetch_command = ["sh", "-c", ${JSON.stringify(fetch)}]`);
  });
  afterAll(async () => {
    hostOnly.server?.close();
    await fx?.remove();
  });

  it('fetches with network in the checkout first, then builds offline on what was fetched', async () => {
    const result = await runJob({ id: 501, projectId: 11, steps: [{ name: 'script', script: [
      'echo "fetch saw $(cat /var/tmp/fetch-interfaces) interfaces, in $(cat /var/tmp/fetch-cwd)"',
      'echo "build sees $(tail -n +3 /proc/net/dev | wc -l) interface"',
      'cat /var/tmp/source.tar',
    ] }] }, { executor: EXECUTOR, env: fx.env });
    expect(result.outcome, result.trace).toBe('success');
    const interfaces = Number(/fetch saw (\d+) interfaces/.exec(result.trace)?.[1]);
    // Loopback and slirp4netns' tap0: a namespace of its own, with a way out.
    expect(interfaces).toBeGreaterThan(1);
    expect(result.trace).toContain(`in ${result.projectDir}`);
    expect(result.trace).toContain('build sees 1 interface');
    expect(result.trace).toContain('fetching sources with network');
  });

  it('fetches in a network namespace of its own: a route out, the host\'s loopback services out of reach', async () => {
    const result = await runJob({ id: 502, projectId: 11, steps: [{ name: 'script', script: ['echo "reached: [$(cat /var/tmp/fetch-reached)]"', 'cat /var/tmp/fetch-route'] }] }, { executor: EXECUTOR, env: fx.env });
    expect(result.outcome, result.trace).toBe('success');
    expect(hostOnly.requests).toBe(0);
    expect(result.trace).not.toContain('host-only-service');
    expect(result.trace).toMatch(/reached: \[nc: can't connect to remote host \(127\.0\.0\.1\): Connection refused\nnc: can't connect to remote host \(10\.0\.2\.2\): Network is unreachable\n?\]/);
    // The route out is there (slirp4netns' tap0); reaching the outside itself is not asserted: the test host may have none.
    expect(result.trace).toContain('default route via tap0');
  });

  it('stops a stage that runs over build_timeout_minutes, leaving nothing running', async () => {
    const marker = `quarters-timeout-marker-${process.pid}`;
    const result = await runJob({ id: 503, projectId: 11, steps: [{ name: 'script', script: [`sh -c 'sleep 120; : ${marker}'`] }] }, { executor: EXECUTOR, env: fx.env });
    expect(result.outcome).toBe('script_failure');
    expect(result.trace).toContain('stage step_script ran over the build timeout of 0.05 min');
    expect(processesWith(marker)).toEqual([]);
  });

  it('offers the build set\'s repository from repositories_dir, verified, read-only, and the build driver', async () => {
    const result = await runJob({ id: 504, projectId: 11, variables: { QUARTERS_NAMESPACE: 'ns1', QUARTERS_ITERATION: '3' }, steps: [{ name: 'script', script: [
      'ls "$QUARTERS_REPO_DIR"',
      'if touch "$QUARTERS_REPO_DIR/new" 2>/dev/null; then echo WRI""TABLE; fi',
      'quarters-build build',
    ] }] }, { executor: EXECUTOR, env: fx.env });
    expect(result.outcome, result.trace).toBe('success');
    expect(result.trace).toMatch(/quarters: the build set's repository \S+\/data\/repos\/ns1\/3\/x86_64\/: 1 package, read from the shared filesystem, every one verified/);
    expect(result.trace).toContain('quarters.db\nzlib-1.3-1-x86_64.pkg.tar.zst\n');
    expect(result.trace).not.toContain('WRITABLE');
    expect(result.trace).toContain('driver called with: build');
  });
});
