/**
 * vm/quarters-build, the in-guest build driver: its checks on the host (fast, no container), and real
 * makepkg builds inside systemd-nspawn over the Arch-on-Debian base OS (through the executor's
 * Environment, the same seam quarters-executor drives).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { archBaseSkipReason, archBaseTree } from './support/arch-base.js';
import { driverJobs, type DriverJob } from './support/driver-jobs.js';
import { containerSkipReason, reportSkip } from './support/capabilities.js';

const DRIVER = fileURLToPath(new URL('../vm/quarters-build', import.meta.url));
const PACKAGER = 'Jane Doe <jane.doe@example.org>';

/** Writes a bundle: file name → contents. */
async function writeBundle(dir: string, files: Record<string, string | Buffer>): Promise<string> {
  for (const [name, text] of Object.entries(files)) {
    await mkdir(join(dir, name, '..'), { recursive: true });
    await writeFile(join(dir, name), text);
  }
  return dir;
}

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

describe('quarters-build on the host (no container)', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'quarters-driver-host-'));
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function driver(bundle: Record<string, string>, env: Record<string, string>, args = ['flavour']) {
    const bundleDir = await mkdtemp(join(dir, 'bundle-'));
    await writeBundle(bundleDir, bundle);
    return execa(DRIVER, args, { cwd: bundleDir, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env }, extendEnv: false, reject: false, all: true });
  }

  it('tells an Arch bundle from an AOSC one and from a Debian one', async () => {
    expect((await driver({ PKGBUILD: 'pkgname=a\n' }, {})).stdout).toBe('pkgbuild');
    expect((await driver({ spec: 'VER=1\n', 'autobuild/defines': 'PKGNAME=a\n' }, {})).stdout).toBe('autobuild');
    expect((await driver({ 'debian/control': 'Source: a\n', 'debian/changelog': 'a (1) unstable; urgency=low\n' }, {})).stdout).toBe('debian');
  });

  it('refuses a directory that is no bundle, or an ambiguous one, saying what to do', async () => {
    const none = await driver({ 'README': 'hi\n' }, {});
    expect(none.exitCode).not.toBe(0);
    expect(none.all).toMatch(/no PKGBUILD \(Arch\), no spec with autobuild\/ \(AOSC\) and no debian\/control with debian\/changelog \(Debian\); set QUARTERS_FLAVOUR/);
    const both = await driver({ PKGBUILD: '', spec: '', 'autobuild/defines': '' }, {});
    expect(both.exitCode).not.toBe(0);
    expect(both.all).toMatch(/more than one of a PKGBUILD, spec \+ autobuild\/ and debian\/; set QUARTERS_FLAVOUR/);
    const debian = await driver({ PKGBUILD: '', 'debian/control': '', 'debian/changelog': '' }, {});
    expect(debian.all).toMatch(/more than one of/);
    expect((await driver({ PKGBUILD: '', 'debian/control': '', 'debian/changelog': '' }, { QUARTERS_FLAVOUR: 'debian' })).stdout).toBe('debian');
    expect((await driver({ PKGBUILD: '', spec: '', 'autobuild/defines': '' }, { QUARTERS_FLAVOUR: 'autobuild' })).stdout).toBe('autobuild');
  });

  it('checks QUARTERS_FLAVOUR against the bundle', async () => {
    const wrong = await driver({ PKGBUILD: '' }, { QUARTERS_FLAVOUR: 'autobuild' });
    expect(wrong.exitCode).not.toBe(0);
    expect(wrong.all).toMatch(/QUARTERS_FLAVOUR=autobuild but .* has no spec file/);
    const unknown = await driver({ PKGBUILD: '' }, { QUARTERS_FLAVOUR: 'rpm' });
    expect(unknown.all).toMatch(/QUARTERS_FLAVOUR must be pkgbuild, autobuild or debian, got 'rpm'/);
    const noChangelog = await driver({ 'debian/control': '' }, { QUARTERS_FLAVOUR: 'debian' });
    expect(noChangelog.all).toMatch(/QUARTERS_FLAVOUR=debian but .* has no debian\/control with a debian\/changelog/);
  });

  it('accepts a well-formed QUARTERS_PACKAGER and refuses malformed ones before doing anything', async () => {
    for (const good of [PACKAGER, 'Åsa Öberg-Li <asa+pkg@lists.example.org>', 'X <x@y>']) {
      const result = await driver({ PKGBUILD: '' }, { QUARTERS_PACKAGER: good });
      expect(result.exitCode, good).toBe(0);
    }
    for (const bad of ['Jane Doe', 'jane@example.org', 'Jane <jane@example.org', '<jane@example.org>', 'Jane <jane at example.org>', 'Jane <j@x.org>\nPACKAGER=evil', ' Jane <j@x.org>', 'Jane <a@b@c>']) {
      const result = await driver({ PKGBUILD: '' }, { QUARTERS_PACKAGER: bad });
      expect(result.exitCode, bad).not.toBe(0);
      expect(result.all, bad).toMatch(/QUARTERS_PACKAGER must look like 'Full Name <user@example.org>', got /);
    }
  });

  it('refuses an unknown QUARTERS_BUILD_NETWORK or QUARTERS_BUILDER', async () => {
    const network = await driver({ PKGBUILD: '' }, { QUARTERS_BUILD_NETWORK: 'host' });
    expect(network.exitCode).not.toBe(0);
    expect(network.all).toMatch(/QUARTERS_BUILD_NETWORK must be none or keep, got 'host'/);
    const builder = await driver({ PKGBUILD: '' }, { QUARTERS_BUILDER: 'makechrootpkg' });
    expect(builder.exitCode).not.toBe(0);
    expect(builder.all).toMatch(/QUARTERS_BUILDER must be auto, makepkg or pkgctl, got 'makechrootpkg'/);
  });

  it('refuses a build uid that is not a number', async () => {
    const result = await driver({ PKGBUILD: '' }, { QUARTERS_BUILD_UID: 'builder' });
    expect(result.exitCode).not.toBe(0);
    expect(result.all).toMatch(/QUARTERS_BUILD_UID must be a number \(a uid or gid\), got 'builder'/);
  });

  it('answers an unknown command with its usage', async () => {
    const result = await driver({ PKGBUILD: '' }, {}, ['compile']);
    expect(result.exitCode).not.toBe(0);
    expect(result.all).toMatch(/unknown command 'compile'/);
    expect(result.all).toMatch(/usage: quarters-build/);
  });
});

const skip = reportSkip(containerSkipReason() ?? archBaseSkipReason(), 'quarters-build in systemd-nspawn');

describe.skipIf(skip)('quarters-build in systemd-nspawn on the Arch-on-Debian base', () => {
  const driver = driverJobs('qdriver', archBaseTree);
  const newJob = driver.job;
  type Job = DriverJob;

  /** A job's environment: a fresh overlay over the base, the bundle at /build, the output at /output, optionally a repository at /repo. */
  const job = (files: Record<string, string | Buffer>, repo?: string, extraBinds: { host: string; guest: string; readOnly?: boolean }[] = []): Promise<Job> =>
    newJob({ writeBundle: async (bundle) => void (await writeBundle(bundle, files)), ...(repo ? { repo } : {}), extraBinds });

  async function packagesIn(directory: string): Promise<string[]> {
    return (await readdir(directory)).filter((name) => name.endsWith('.pkg.tar.zst')).sort();
  }

  async function memberOf(pkg: string, member: string): Promise<string> {
    return (await execa('tar', ['--zstd', '-xOf', pkg, member])).stdout;
  }

  const HELLO = '#!/bin/sh\necho hello from quarters\n';
  const helloBundle = {
    'hello.sh': HELLO,
    PKGBUILD: [
      'pkgname=quarters-hello', 'pkgver=1.0', 'pkgrel=1', "pkgdesc='a test package'", "arch=('any')", "license=('MIT')",
      "source=('hello.sh')", `sha256sums=('${sha256(HELLO)}')`,
      'package() {', '  install -Dm755 "$srcdir/hello.sh" "$pkgdir/usr/bin/quarters-hello"',
      // What network the build saw: the interfaces of its network namespace, and whether loopback is up.
      '  mkdir -p "$pkgdir/usr/share/quarters-hello"',
      `  awk 'NR > 2 { print $1 }' /proc/net/dev > "$pkgdir/usr/share/quarters-hello/interfaces"`,
      `  ip -o link show lo | grep -o '<[^>]*>' >> "$pkgdir/usr/share/quarters-hello/interfaces"`,
      '}', '',
    ].join('\n'),
  };

  it('fetches, then builds without network, a PKGBUILD into a .pkg.tar.zst recording the packager', async () => {
    // Both steps get the host's network here: the driver itself must keep the build offline.
    const j = await job(helloBundle);
    const fetched = await j.run(['fetch'], { env: { QUARTERS_PACKAGER: PACKAGER }, network: true });
    expect(fetched.exitCode, fetched.output).toBe(0);
    expect(fetched.output).toMatch(/hello\.sh \.\.\. Passed/);
    expect(await packagesIn(j.output)).toEqual([]);

    const built = await j.run(['build'], { env: { QUARTERS_PACKAGER: PACKAGER }, network: true });
    expect(built.exitCode, built.output).toBe(0);
    expect(await packagesIn(j.output)).toEqual(['quarters-hello-1.0-1-any.pkg.tar.zst']);
    const pkg = join(j.output, 'quarters-hello-1.0-1-any.pkg.tar.zst');
    const pkginfo = await memberOf(pkg, '.PKGINFO');
    expect(pkginfo).toMatch(/^pkgname = quarters-hello$/m);
    expect(pkginfo).toMatch(new RegExp(`^packager = ${PACKAGER.replace(/[.+]/g, '\\$&')}$`, 'm'));
    expect(await memberOf(pkg, 'usr/bin/quarters-hello')).toBe(HELLO.trimEnd());
    // Only loopback, and up, though nspawn with the host's network withholds CAP_NET_ADMIN from the driver.
    expect(await memberOf(pkg, 'usr/share/quarters-hello/interfaces')).toBe('lo:\n<LOOPBACK,UP,LOWER_UP>');
    expect(built.output).not.toMatch(/WARNING/);
    // The full log of each step stays beside the bundle; the checkout itself is not built in.
    expect(await readFile(join(j.logs, 'build.log'), 'utf8')).toMatch(/Finished making: quarters-hello 1\.0-1/);
    expect((await readdir(j.bundle)).sort()).toEqual(['PKGBUILD', 'hello.sh', 'quarters-logs']);
  }, 120_000);

  it('fetches a bundle once per environment: a second fetch of it does nothing, a changed bundle is fetched again', async () => {
    // As in a job: the executor's fetch step (with network), then the job script's own fetch and build (without).
    const j = await job(helloBundle);
    const first = await j.run(['fetch'], { network: true });
    expect(first.exitCode, first.output).toBe(0);
    expect(first.output).toMatch(/hello\.sh \.\.\. Passed/);
    const again = await j.run(['fetch']);
    expect(again.exitCode, again.output).toBe(0);
    expect(again.output).toMatch(/this bundle's sources and dependencies were fetched in this environment already: nothing to fetch/);
    expect(again.output).not.toMatch(/Passed/);

    await writeFile(join(j.bundle, 'NOTES'), 'a changed bundle\n');
    const changed = await j.run(['fetch'], { network: true });
    expect(changed.exitCode, changed.output).toBe(0);
    expect(changed.output).toMatch(/hello\.sh \.\.\. Passed/);
    const built = await j.run(['build']);
    expect(built.exitCode, built.output).toBe(0);
    expect(await packagesIn(j.output)).toEqual(['quarters-hello-1.0-1-any.pkg.tar.zst']);
  }, 120_000);

  it('reads the dependencies as makepkg does (for this architecture, set by code), and downloads nothing for a recipe without sources', async () => {
    const j = await job({
      PKGBUILD: [
        'pkgname=quarters-archdeps', 'pkgver=1.0', 'pkgrel=1', "arch=('x86_64' 'aarch64')",
        "makedepends_x86_64=('quarters-x86-only')", "makedepends_aarch64=('quarters-arm-only')",
        'if [[ $CARCH == x86_64 ]]; then depends+=(quarters-set-by-code); fi',
        'package() {', '  :', '}', '',
      ].join('\n'),
    });
    const refused = await j.run(['fetch']);
    expect(refused.exitCode).not.toBe(0);
    expect(refused.output).toMatch(/pacman cannot install these build dependencies: quarters-set-by-code quarters-x86-only \(/);
    const fetched = await j.run(['fetch'], { env: { QUARTERS_ALLOW_UNVERIFIED_DEPS: '1' } });
    expect(fetched.exitCode, fetched.output).toBe(0);
    expect(fetched.output).toMatch(/the recipe has no sources: nothing to download/);
    expect(fetched.output).not.toMatch(/Making package/);
  }, 120_000);

  it('verifies a signed source with the keys the bundle ships in keys/pgp, and fails without them', async () => {
    const gnupg = await mkdtemp(join(driver.scratchDir(), 'gnupg-'));
    const gpg = (args: string[]) => execa('gpg', ['--homedir', gnupg, '--batch', '--pinentry-mode', 'loopback', '--passphrase', '', ...args]);
    try {
      await gpg(['--quick-gen-key', 'Upstream Release <release@upstream.example>', 'ed25519', 'sign', 'never']);
      const fingerprint = /^fpr:+([0-9A-F]{40}):/m.exec((await gpg(['--with-colons', '--list-keys'])).stdout)?.[1];
      expect(fingerprint).toBeDefined();
      const source = join(gnupg, 'hello.sh');
      await writeFile(source, HELLO);
      await gpg(['--detach-sign', '--output', `${source}.sig`, source]);
      const signed = {
        'hello.sh': HELLO,
        'hello.sh.sig': await readFile(`${source}.sig`),
        PKGBUILD: [
          'pkgname=quarters-signed', 'pkgver=1.0', 'pkgrel=1', "arch=('any')",
          "source=('hello.sh' 'hello.sh.sig')", `sha256sums=('${sha256(HELLO)}' 'SKIP')`, `validpgpkeys=('${fingerprint}')`,
          'package() {', '  install -Dm755 "$srcdir/hello.sh" "$pkgdir/usr/bin/quarters-signed"', '}', '',
        ].join('\n'),
      };
      const withKey = await job({ ...signed, [`keys/pgp/${fingerprint}.asc`]: (await gpg(['--armor', '--export', fingerprint!])).stdout });
      const verified = await withKey.run(['fetch']);
      expect(verified.exitCode, verified.output).toBe(0);
      expect(verified.output).toMatch(/importing 1 source signing key\(s\) from keys\/pgp/);
      expect(verified.output).toMatch(/hello\.sh \.\.\. Passed/);
      expect(verified.output).toMatch(/Verifying source file signatures with gpg/);

      const withoutKey = await job(signed);
      const refused = await withoutKey.run(['fetch']);
      expect(refused.exitCode).not.toBe(0);
      expect(refused.output).toMatch(/unknown public key/);
    } finally {
      await execa('gpgconf', ['--homedir', gnupg, '--kill', 'gpg-agent'], { reject: false });
    }
  }, 120_000);

  it('fails a failing build with a non-zero status, the tail of its log and where the whole log is', async () => {
    const j = await job({
      PKGBUILD: [
        'pkgname=quarters-broken', 'pkgver=1.0', 'pkgrel=1', "arch=('any')",
        // build() runs as the build user itself; package() runs under fakeroot, as a make-believe root.
        'build() {', '  echo "building as $(id -u):$(id -g)"', '}',
        'package() {', '  for i in $(seq -w 1 80); do echo "marker-$i"; done', '  echo "the compiler is unhappy" >&2', '  return 3', '}', '',
      ].join('\n'),
    });
    // As the executor passes them: the host user owning the build directory.
    const result = await j.run(['all'], { env: { QUARTERS_BUILD_UID: '4242', QUARTERS_BUILD_GID: '4343' } });
    expect(result.exitCode).not.toBe(0);
    const tail = result.output.split('The last 50 lines of its log:')[1] ?? '';
    expect(tail, result.output).toMatch(/marker-80\n/);
    expect(tail).toMatch(/the compiler is unhappy/);
    expect(tail).not.toMatch(/marker-01\n/);
    expect(result.output).toMatch(/build failed \(exit status \d+\)/);
    expect(result.output).toMatch(/the full log is \/build\/quarters-logs\/build\.log/);
    const log = await readFile(join(j.logs, 'build.log'), 'utf8');
    expect(log).toMatch(/marker-01\n/);
    expect(log).toMatch(/^building as 4242:4343$/m);
    for (const path of [j.logs, join(j.logs, 'build.log')]) {
      const owner = await stat(path);
      expect([owner.uid, owner.gid], path).toEqual([4242, 4343]);
    }
    expect(await packagesIn(j.output)).toEqual([]);
  }, 120_000);

  const greetingRepos = new Map<string, Promise<string>>();
  /** A pacman repository (named `quarters` unless told) holding quarters-greeting at this version, made as the server makes one: a build's output, indexed with repo-add. */
  function greetingRepo(version: string, name = 'quarters'): Promise<string> {
    let repo = greetingRepos.get(`${name} ${version}`);
    if (!repo) {
      repo = (async () => {
        const j = await job({
          PKGBUILD: [
            'pkgname=quarters-greeting', `pkgver=${version}`, 'pkgrel=1', "arch=('any')",
            'package() {', '  mkdir -p "$pkgdir/usr/share/quarters"', `  echo "greetings from version ${version}" > "$pkgdir/usr/share/quarters/greeting"`, '}', '',
          ].join('\n'),
        });
        const built = await j.run(['all']);
        if (built.exitCode !== 0) throw new Error(`building quarters-greeting ${version} failed:\n${built.output}`);
        const [pkg] = await packagesIn(j.output);
        await execa('repo-add', ['--quiet', join(j.output, `${name}.db.tar.gz`), join(j.output, pkg!)]);
        return j.output;
      })();
      greetingRepos.set(`${name} ${version}`, repo);
    }
    return repo;
  }

  it("installs a dependency from the build set's repository, and refuses what pacman cannot install unless told to", async () => {
    const repo = await greetingRepo('2.0');
    const user = (makedepends: string) => ({
      PKGBUILD: [
        'pkgname=quarters-user', 'pkgver=1.0', 'pkgrel=1', "arch=('any')", "depends=('quarters-greeting>=2')", `makedepends=(${makedepends})`,
        'package() {', '  install -Dm644 /usr/share/quarters/greeting "$pkgdir/usr/share/doc/quarters-user/greeting"',
        // The environment has no network here, so the driver leaves it alone: its loopback stays up.
        `  ip -o link show lo | grep -o '<[^>]*>' > "$pkgdir/usr/share/doc/quarters-user/loopback"`, '}', '',
      ].join('\n'),
    });
    const second = await job(user(''), repo);
    const result = await second.run(['all']);
    expect(result.exitCode, result.output).toBe(0);
    expect(result.output).toMatch(/installing build dependencies: quarters-greeting>=2/);
    const [pkg] = await packagesIn(second.output);
    expect(await memberOf(join(second.output, pkg!), 'usr/share/doc/quarters-user/greeting')).toBe('greetings from version 2.0');
    expect(await memberOf(join(second.output, pkg!), '.PKGINFO')).toMatch(/^depend = quarters-greeting>=2$/m);
    expect(await memberOf(join(second.output, pkg!), 'usr/share/doc/quarters-user/loopback')).toBe('<LOOPBACK,UP,LOWER_UP>');

    // Debian's pacman knows no Arch repository: a dependency nothing offers is named, not silently skipped.
    const third = await job(user("'quarters-no-such-tool'"), repo);
    const refused = await third.run(['build']);
    expect(refused.exitCode).not.toBe(0);
    expect(refused.output).toMatch(/pacman cannot install these build dependencies: quarters-no-such-tool \(the repositories pacman knows: quarters\)/);
    expect(refused.output).toMatch(/QUARTERS_ALLOW_UNVERIFIED_DEPS=1/);
    const allowed = await third.run(['build'], { env: { QUARTERS_ALLOW_UNVERIFIED_DEPS: '1' } });
    expect(allowed.exitCode, allowed.output).toBe(0);
    expect(allowed.output).toMatch(/WARNING: pacman cannot install these dependencies: quarters-no-such-tool/);
    expect(await packagesIn(third.output)).toEqual(['quarters-user-1.0-1-any.pkg.tar.zst']);
  }, 300_000);

  it("puts the build set's repository before the distribution's, so its packages win even over newer ones", async () => {
    const [buildSet, distribution] = await Promise.all([greetingRepo('2.0'), greetingRepo('3.0', 'core')]);
    const j = await job({ PKGBUILD: 'pkgname=x\n' }, buildSet, [{ host: distribution, guest: '/distribution', readOnly: true }]);
    const script = [
      // A distribution repository, as an Arch guest's pacman.conf has them.
      `printf '[core]\\nSigLevel = Optional TrustAll\\nServer = file:///distribution\\n' >> /etc/pacman.conf`,
      'quarters-build configure',
      'echo "repositories: $(pacman-conf --repo-list | paste -sd" ")"',
      'pacman -Sp --print-format "chosen: %r %v" quarters-greeting',
    ].join(' && ');
    const result = await j.exec(['bash', '-c', script]);
    expect(result.exitCode, result.output).toBe(0);
    expect(result.output).toMatch(/^repositories: quarters core$/m);
    expect(result.output).toMatch(/^chosen: quarters 2\.0-1$/m);
  }, 300_000);

  describe('AOSC bundles', () => {
    const aoscBundle = { spec: 'VER=1.0\nSRCS="tbl::https://example.org/a-1.0.tar.gz"\nCHKSUMS="SKIP"\n', 'autobuild/defines': 'PKGNAME=quarters-aosc\nPKGSEC=utils\nPKGDES="a test"\n' };

    it("records the packager as autobuild's maintainer (MTER), exactly as given", async () => {
      const j = await job(aoscBundle);
      const first = await j.run(['configure'], { env: { QUARTERS_PACKAGER: PACKAGER } });
      expect(first.exitCode, first.output).toBe(0);
      expect(first.output).toMatch(/packager recorded as MTER in \/etc\/autobuild\/ab4cfg\.sh/);
      // Quotes and a dollar sign: the value must reach autobuild unchanged, never evaluated; a second run replaces the first.
      const tricky = 'Jane "JD" O\'Doe <jane$HOME@example.org>';
      const second = await j.run(['configure'], { env: { QUARTERS_PACKAGER: tricky } });
      expect(second.exitCode, second.output).toBe(0);
      const read = await j.exec(['bash', '-c', 'source /etc/autobuild/ab4cfg.sh && printf "%s|" "$MTER" && grep -c "^MTER=" /etc/autobuild/ab4cfg.sh']);
      expect(read.output.trim()).toBe(`${tricky}|1`);
    });

    it('says clearly that autobuild is missing (AOSC autobuild is not installable on Debian)', async () => {
      process.stderr.write('SKIPPED building an AOSC bundle with autobuild: autobuild is not installable on the Debian base; only detection, MTER and the missing-autobuild error are tested\n');
      const j = await job(aoscBundle);
      const result = await j.run(['build'], { env: { QUARTERS_PACKAGER: PACKAGER } });
      expect(result.exitCode).not.toBe(0);
      expect(result.output).toMatch(/autobuild is not installed in this build environment: AOSC bundles \(spec \+ autobuild\/\) build only on an AOSC OS base/);
    });
  });
});
