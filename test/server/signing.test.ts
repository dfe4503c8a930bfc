/**
 * Signed build set repositories, checked with the real tools: a throwaway key made by gpg, the server
 * signing what executors upload, pacman (SigLevel = Required, the key in its keyring) and apt-get
 * (signed-by) accepting the repositories and refusing tampered copies; a key that cannot sign stops
 * publishing and leaves the repository as it was.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { copyFileSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EXECUTOR_TOKEN, JANE, runningBuilds, startRig, type Rig } from './server-harness.js';
import { debPackage, pacmanPackage, upload } from './packages.js';
import { tempDir } from './http-harness.js';
import { makeSigningKey, privateApt, privatePacman, signWith, type TestKey } from '../support/signing-keys.js';
import { Signer, SigningError } from '../../src/server/signing/signer.js';

const PACKAGER = 'Jane Packager <jane@example.org>';

/** Downloads every file a served repository lists into a new directory: a copy to tamper with, served by file://. */
async function mirror(url: string, repo: string): Promise<string> {
  const dir = tempDir('quarters-mirror-');
  const { files } = (await (await fetch(`${url}${repo}/`)).json()) as { files: { name: string }[] };
  for (const { name } of files) writeFileSync(join(dir, name), Buffer.from(await (await fetch(`${url}${repo}/${name}`)).arrayBuffer()));
  return dir;
}

/** The fingerprints `gpg --show-keys` finds in an armored key. */
async function fingerprintsOf(armored: string): Promise<string[]> {
  const { stdout } = await execa('gpg', ['--batch', '--with-colons', '--show-keys'], { input: armored, env: { LC_ALL: 'C', GNUPGHOME: tempDir('quarters-show-') } });
  return stdout.split('\n').filter((l) => l.startsWith('fpr:')).map((l) => l.split(':')[9]!);
}

const listing = async (rig: Rig, repo: string) => ((await (await fetch(`${rig.url}${repo}/`)).json()) as { files: { name: string; size: number }[] }).files;

describe('a signed pacman build set repository', () => {
  let rig: Rig;
  let key: TestKey;
  let buildId: number;
  let jobToken: string;
  let zlib: { path: string; filename: string };

  beforeAll(async () => {
    key = await makeSigningKey();
    rig = await startRig({ signing: { key_file: key.secretKeyFile, key_id: key.fingerprint } });
    ({ buildId, jobToken } = await runningBuilds(rig));
    zlib = await pacmanPackage({ name: 'zlib', version: '1.1-1', packager: PACKAGER });
    expect((await upload(rig.url, buildId, zlib, { executor: EXECUTOR_TOKEN, job: jobToken })).status).toBe(201);
  });
  afterAll(async () => rig?.close());

  it('serves the public key at /signing-key.asc and describes it in the API', async () => {
    const res = await fetch(`${rig.url}/signing-key.asc`);
    expect(res.status).toBe(200);
    expect(res.headers.get('Content-Type')).toBe('application/pgp-keys');
    expect(await fingerprintsOf(await res.text())).toEqual([key.fingerprint]);
    expect(await (await fetch(`${rig.url}/api/v1/signing-key`)).json()).toMatchObject({ fingerprint: key.fingerprint, url: 'http://quarters.test/signing-key.asc', problem: null });
    expect((await fetch(`${rig.url}/healthz`)).status).toBe(200);
    // The server's own GnuPG home, private to it.
    expect(statSync(join(rig.config.data_dir, 'gnupg')).mode & 0o777).toBe(0o700);
  });

  it('puts the key in the install snippets of the API and the CLI', async () => {
    const install = (await (await fetch(`${rig.url}/api/v1/namespaces/auto-zlib/install`)).json()) as { snippet: string; signing_key: unknown };
    expect(install.signing_key).toEqual({ url: 'http://quarters.test/signing-key.asc', fingerprint: key.fingerprint });
    const cli = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
    const shown = await execa('node', [cli, 'ns', 'install', 'auto-zlib'], { reject: false, env: { QUARTERS_SERVER: rig.url } });
    expect(shown.stdout).toBe([
      'curl -fsSL http://quarters.test/signing-key.asc -o /tmp/quarters.asc', 'pacman-key --add /tmp/quarters.asc', `pacman-key --lsign-key ${key.fingerprint}`, '',
      '[quarters]', 'SigLevel = Required', 'Server = http://quarters.test/repos/auto-zlib/latest/$arch',
    ].join('\n'));
  });

  it('signs the databases and each package (detached .sig), without embedding signatures in the database', async () => {
    const names = (await listing(rig, '/repos/auto-zlib/1/x86_64')).map((f) => f.name);
    expect(names).toEqual(expect.arrayContaining(['quarters.db', 'quarters.db.sig', 'quarters.files', 'quarters.files.sig', zlib.filename, `${zlib.filename}.sig`]));
    const dir = await mirror(rig.url, '/repos/auto-zlib/1/x86_64');
    for (const file of ['quarters.db', zlib.filename]) {
      const verified = await execa('gpgv', ['--keyring', await keyring(key), join(dir, `${file}.sig`), join(dir, file)], { reject: false, all: true });
      expect(verified.exitCode, String(verified.all)).toBe(0);
    }
    // The builds' pacman reads the repository at SigLevel = Optional without the key: an embedded %PGPSIG% would fail it.
    const { stdout } = await execa('tar', ['-xzOf', join(dir, 'quarters.db')]);
    expect(stdout).toContain('%SHA256SUM%');
    expect(stdout).not.toContain('%PGPSIG%');
  });

  it('installs with pacman at SigLevel = Required from the server, and from a copy without the signatures at Optional without the key (the builds\' way)', async () => {
    const pacman = await privatePacman({ name: 'quarters', server: `${rig.url}/repos/auto-zlib/latest/$arch`, publicKey: await (await fetch(`${rig.url}/signing-key.asc`)).text(), fingerprint: key.fingerprint });
    try {
      const result = await pacman.install('zlib');
      expect(result.exitCode, result.output).toBe(0);
      expect(readFileSync(join(pacman.root, 'usr/share/doc/zlib/README'), 'utf8')).toBe('zlib\n');
    } finally {
      await pacman.close();
    }
    const unsigned = tempDir('quarters-guest-repo-');
    const dir = await mirror(rig.url, '/repos/auto-zlib/latest/x86_64');
    for (const file of ['quarters.db', zlib.filename]) copyFileSync(join(dir, file), join(unsigned, file));
    const guest = await privatePacman({ name: 'quarters', server: `file://${unsigned}`, publicKey: null, fingerprint: null, sigLevel: 'Optional TrustAll' });
    try {
      const result = await guest.install('zlib');
      expect(result.exitCode, result.output).toBe(0);
    } finally {
      await guest.close();
    }
  });

  it('refuses a tampered database, a tampered package, and a package signed by another key', async () => {
    const attacker = await makeSigningKey({ uid: 'Mallory <m@example.org>' });
    const publicKey = await (await fetch(`${rig.url}/signing-key.asc`)).text();
    const attempt = async (tamper: (dir: string) => Promise<void>) => {
      const dir = await mirror(rig.url, '/repos/auto-zlib/latest/x86_64');
      await tamper(dir);
      const pacman = await privatePacman({ name: 'quarters', server: `file://${dir}`, publicKey, fingerprint: key.fingerprint });
      try {
        return await pacman.install('zlib');
      } finally {
        await pacman.close();
      }
    };
    // The database names another package: its signature no longer matches.
    const evil = await pacmanPackage({ name: 'evil', version: '1-1', packager: PACKAGER });
    const db = await attempt(async (dir) => {
      copyFileSync(evil.path, join(dir, evil.filename));
      copyFileSync(join(dir, 'quarters.db'), join(dir, 'quarters.db.tar.gz'));
      await execa('repo-add', ['-q', join(dir, 'quarters.db.tar.gz'), join(dir, evil.filename)]);
      copyFileSync(join(dir, 'quarters.db.tar.gz'), join(dir, 'quarters.db'));
    });
    expect(db.exitCode).not.toBe(0);
    expect(db.output).toMatch(/quarters: signature from "Quarters Test Signer <signer@example.org>" is invalid/);
    // One byte of the package changed (its size, and its .sig, left as they were).
    const pkg = await attempt(async (dir) => {
      const bytes = readFileSync(join(dir, zlib.filename));
      bytes.writeUInt8(bytes.readUInt8(bytes.length - 20) ^ 0xff, bytes.length - 20);
      writeFileSync(join(dir, zlib.filename), bytes);
    });
    expect(pkg.exitCode).not.toBe(0);
    // The signed database's checksum catches it before the package's own signature is read.
    expect(pkg.output).toMatch(/invalid or corrupted package \((checksum|PGP signature)\)/);
    // A signature by a key the client does not trust.
    const foreign = await attempt(async (dir) => signWith(attacker, join(dir, zlib.filename), join(dir, `${zlib.filename}.sig`)));
    expect(foreign.exitCode).not.toBe(0);
    expect(foreign.output).toMatch(/required key missing from keyring/);
  });
});

/** The public key of `key` as a keyring file gpgv reads. */
async function keyring(key: TestKey): Promise<string> {
  const file = join(tempDir('quarters-keyring-'), 'key.gpg');
  await execa('gpg', ['--homedir', key.home, '--batch', '--export', '--output', file, key.fingerprint]);
  return file;
}

const spec = (ver: string) => `VER=${ver}\nSRCS="tbl::https://example.org/src-$VER.tar.xz"\nCHKSUMS="sha256::${'0'.repeat(64)}"\nCHKUPDATE="anitya::id=1"\n`;
const defines = (name: string, deps: string[] = []) => `PKGNAME=${name}\nPKGSEC=libs\nPKGDEP="${deps.join(' ')}"\nPKGDES="${name} for tests"\n`;

describe('a signed apt build set repository, with a passphrase', () => {
  let rig: Rig;
  afterEach(async () => rig?.close());

  it('is accepted by apt-get with signed-by, a tampered Release is refused, and a wrong passphrase stops publishing without changing it', async () => {
    const key = await makeSigningKey({ passphrase: 'correct horse battery staple' });
    const signing = { key_file: key.secretKeyFile, key_id: key.fingerprint, passphrase: 'correct horse battery staple' };
    rig = await startRig({ treeProject: 'aosc/abbs', build: { flavour: 'autobuild', architectures: ['amd64'] }, signing });
    const tree = rig.gitlab.state.addProject({
      path: 'aosc/abbs',
      files: { 'core-libs/zlib/spec': spec('1.3'), 'core-libs/zlib/autobuild/defines': defines('zlib'), 'libs/libpng/spec': spec('1.6'), 'libs/libpng/autobuild/defines': defines('libpng', ['zlib']) },
    });
    await rig.server.index.syncAll();
    await rig.deliver('Push Hook', rig.gitlab.pushHookBody(rig.gitlab.state.pushFiles(tree, { 'core-libs/zlib/spec': spec('1.3.1') }), JANE));
    const ns = rig.server.store.namespaceByName('auto-zlib')!;
    const builds = () => rig.server.store.builds(rig.server.store.latestIteration(ns.id)!.id);
    const publish = async (i: number, name: string, version: string, deps: string[]) => {
      const pipeline = rig.gitlab.state.pipelinesOf(tree)[i]!;
      const { token } = await rig.gitlab.state.startPipeline(pipeline.id);
      await rig.server.drain();
      return { pipeline, token, res: await upload(rig.url, builds()[i]!.id, await debPackage({ name, version, arch: 'amd64', depends: deps }), { executor: EXECUTOR_TOKEN, job: token }) };
    };
    const first = await publish(0, 'zlib', '1.3.1', []);
    expect(first.res.status, await first.res.clone().text()).toBe(201);
    await rig.gitlab.state.finishPipeline(first.pipeline.id, 'success');
    await rig.server.drain();

    const repo = '/repos/auto-zlib/latest/amd64';
    expect((await listing(rig, repo)).map((f) => f.name)).toEqual(expect.arrayContaining(['InRelease', 'Packages', 'Release', 'Release.gpg']));
    const publicKey = await (await fetch(`${rig.url}/signing-key.asc`)).text();
    const apt = privateApt({ url: `${rig.url}${repo}/`, publicKey });
    const accepted = await apt.update();
    expect(accepted.exitCode, accepted.output).toBe(0);
    expect(await apt.policy('zlib')).toMatch(/Candidate: 1\.3\.1/);

    // A Release that says something else than what was signed.
    const dir = await mirror(rig.url, repo);
    for (const file of ['Release', 'InRelease']) writeFileSync(join(dir, file), readFileSync(join(dir, file), 'utf8').replace(/^Date:/m, 'Label: tampered\nDate:'));
    const tampered = await privateApt({ url: `file://${dir}/`, publicKey }).update();
    expect(tampered.exitCode).not.toBe(0);
    expect(tampered.output).toMatch(/BADSIG|not signed/);

    // The same server with a wrong passphrase: it says so, and refuses to publish.
    const before = await listing(rig, repo);
    const release = await (await fetch(`${rig.url}${repo}/InRelease`)).text();
    await rig.restart((config) => ({ ...config, signing: { ...signing, passphrase: 'wrong' } }));
    const health = await fetch(`${rig.url}/healthz`);
    expect(health.status).toBe(503);
    expect(((await health.json()) as { problems: string[] }).problems.join('\n')).toMatch(/cannot sign: .*[Bb]ad passphrase/);
    const refused = await publish(1, 'libpng', '1.6', ['zlib']);
    expect(refused.res.status).toBe(503);
    expect(await refused.res.json()).toMatchObject({ error: 'signing_failed', detail: expect.stringMatching(/nothing was published.*[Bb]ad passphrase/) });
    expect(await listing(rig, repo)).toEqual(before);
    expect(await (await fetch(`${rig.url}${repo}/InRelease`)).text()).toBe(release);

    // The right passphrase again: the retried upload is published and signed.
    await rig.restart((config) => ({ ...config, signing }));
    expect((await fetch(`${rig.url}/healthz`)).status).toBe(200);
    const aptAgain = privateApt({ url: `${rig.url}${repo}/`, publicKey });
    const again = await upload(rig.url, builds()[1]!.id, await debPackage({ name: 'libpng', version: '1.6', arch: 'amd64', depends: ['zlib'] }), { executor: EXECUTOR_TOKEN, job: refused.token });
    expect(again.status, await again.clone().text()).toBe(201);
    // (A new sources list: the restarted server listens on another port.)
    const updated = await aptAgain.update();
    expect(updated.exitCode, updated.output).toBe(0);
    expect(await aptAgain.policy('libpng')).toMatch(/Candidate: 1\.6/);
  });
});

describe('the signing key', () => {
  it('is refused at start when the config names a key that is not there, naming the config key', async () => {
    const key = await makeSigningKey();
    const dataDir = tempDir('quarters-signing-');
    const error = (() => {
      try {
        Signer.open({ key_file: key.secretKeyFile, key_id: 'F'.repeat(40) }, dataDir);
      } catch (e) {
        return e as SigningError;
      }
      throw new Error('opened');
    })();
    expect(error).toBeInstanceOf(SigningError);
    expect(error.configKey).toBe('key_id');
    expect(error.message).toContain(`${'F'.repeat(40)} is not a secret key`);
    expect(() => Signer.open({ key_file: join(dataDir, 'nope.asc'), key_id: key.fingerprint }, dataDir)).toThrow(/nope\.asc does not exist/);
    const missingHome = (() => { try { Signer.open({ gnupg_home: join(dataDir, 'nohome'), key_id: key.fingerprint }, dataDir); } catch (e) { return e as SigningError; } return null; })();
    expect(missingHome?.configKey).toBe('gnupg_home');
  });

  it('stops `quarters server` with an error naming the config file and key', async () => {
    const key = await makeSigningKey();
    const dir = tempDir('quarters-signing-config-');
    const config = join(dir, 'server.toml');
    writeFileSync(config, `public_url = "http://127.0.0.1"\ndata_dir = "${join(dir, 'data')}"\n[build]\nflavour = "pkgbuild"\narchitectures = ["x86_64"]\n[signing]\nkey_file = "${key.secretKeyFile}"\nkey_id = "${'0'.repeat(40)}"\n`);
    const cli = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
    const run = await execa('node', [cli, 'server', '--config', config], { reject: false, env: { QUARTERS_LOG_LEVEL: 'silent' } });
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toMatch(new RegExp(`^quarters: ${config}: signing\\.key_id: ${'0'.repeat(40)} is not a secret key in the key file`));
  });

  it('reports an expired key as a problem, and signs from an operator\'s GnuPG home', async () => {
    const expiring = await makeSigningKey({ expires: 'seconds=1' });
    await new Promise((done) => setTimeout(done, 2100));
    const expired = Signer.open({ key_file: expiring.secretKeyFile, key_id: expiring.fingerprint }, tempDir('quarters-signing-'));
    try {
      expect(expired.problem()).toMatch(/cannot sign: the key expired on \d{4}-\d\d-\d\d/);
      await expect(expired.ensureUsable()).rejects.toThrow(/expired|unusable/i);
    } finally {
      await expired.close();
    }
    const key = await makeSigningKey();
    const signer = Signer.open({ gnupg_home: key.home, key_id: key.fingerprint.slice(-16) }, tempDir('quarters-signing-'));
    try {
      expect(signer.problem()).toBeNull();
      expect(signer.key.fingerprint).toBe(key.fingerprint);
      const dir = tempDir('quarters-signed-');
      writeFileSync(join(dir, 'Release'), 'Origin: test\n');
      await signer.clearSign(join(dir, 'Release'), join(dir, 'InRelease'));
      const verified = await execa('gpgv', ['--keyring', await keyring(key), join(dir, 'InRelease')], { reject: false });
      expect(verified.exitCode).toBe(0);
      expect(existsSync(join(key.home, 'gpg-agent.conf'))).toBe(false);
    } finally {
      await execa('gpgconf', ['--homedir', key.home, '--kill', 'gpg-agent'], { reject: false });
    }
  });
});
