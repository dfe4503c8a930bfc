/** Throwaway OpenPGP signing keys for tests, made with the real gpg, and the clients' side: pacman and apt configured to require them. */
import { execa } from 'execa';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from './packages.js';

/** A key made for one test: its fingerprint, its armored secret key file, its armored public key. */
export interface TestKey {
  fingerprint: string;
  secretKeyFile: string;
  publicKey: string;
  /** The GnuPG home it was made in (holding its secret key). */
  home: string;
}

/** Makes an ed25519 signing key (`gpg --quick-gen-key`), protected by `passphrase` when given, valid for `expires` (gpg's syntax, "1d"). */
export async function makeSigningKey(options: { passphrase?: string; uid?: string; expires?: string } = {}): Promise<TestKey> {
  const home = tempDir('quarters-test-gnupg-');
  chmodSync(home, 0o700);
  const passphrase = ['--pinentry-mode', 'loopback', '--passphrase', options.passphrase ?? ''];
  const gpg = (args: string[]) => execa('gpg', ['--homedir', home, '--batch', '--no-tty', ...args], { env: { LC_ALL: 'C' } });
  await gpg([...passphrase, '--quick-gen-key', options.uid ?? 'Quarters Test Signer <signer@example.org>', 'ed25519', 'sign', options.expires ?? '1d']);
  const { stdout } = await gpg(['--with-colons', '--list-secret-keys']);
  const fingerprint = stdout.split('\n').find((l) => l.startsWith('fpr:'))!.split(':')[9]!;
  const secret = await gpg([...passphrase, '--armor', '--export-secret-keys', fingerprint]);
  const secretKeyFile = join(home, 'secret.asc');
  writeFileSync(secretKeyFile, `${secret.stdout}\n`, { mode: 0o600 });
  const publicKey = (await gpg(['--armor', '--export', fingerprint])).stdout;
  await execa('gpgconf', ['--homedir', home, '--kill', 'gpg-agent'], { reject: false });
  return { fingerprint, secretKeyFile, publicKey, home };
}

/** Signs `file` into `output` with a test key (a detached binary signature, or clear-signed). */
export async function signWith(key: TestKey, file: string, output: string, mode: 'detach' | 'clear' = 'detach'): Promise<void> {
  await execa('gpg', ['--homedir', key.home, '--batch', '--no-tty', '--yes', '--pinentry-mode', 'loopback', '--passphrase', '', '--local-user', key.fingerprint, mode === 'detach' ? '--detach-sign' : '--clearsign', '--output', output, file], { env: { LC_ALL: 'C' } });
  await execa('gpgconf', ['--homedir', key.home, '--kill', 'gpg-agent'], { reject: false });
}

/**
 * A pacman of its own: a root, a database path, a cache and a keyring (GPGDir) in a temporary directory,
 * with one repository `[name]` at `server` and `SigLevel = Required` (or `sigLevel`), the key (when given)
 * imported and locally signed (pacman-key --init/--add/--lsign-key). `install` runs `pacman -Sy NAMES` and answers with its exit status and output.
 */
export async function privatePacman(options: { name: string; server: string; publicKey: string | null; fingerprint: string | null; sigLevel?: string }) {
  const dir = tempDir('quarters-pacman-');
  const root = join(dir, 'root');
  mkdirSync(join(root, 'var/lib/pacman'), { recursive: true });
  const conf = join(dir, 'pacman.conf');
  const gpgdir = join(dir, 'gnupg');
  writeFileSync(conf, `[options]\nArchitecture = x86_64\nSigLevel = Never\nGPGDir = ${gpgdir}\n\n[${options.name}]\nSigLevel = ${options.sigLevel ?? 'Required'}\nServer = ${options.server}\n`);
  const key = (args: string[]) => execa('pacman-key', ['--config', conf, '--gpgdir', gpgdir, ...args], { env: { LC_ALL: 'C' } });
  await key(['--init']);
  if (options.publicKey !== null && options.fingerprint !== null) {
    writeFileSync(join(dir, 'key.asc'), options.publicKey);
    await key(['--add', join(dir, 'key.asc')]);
    await key(['--lsign-key', options.fingerprint]);
  }
  return {
    root,
    async install(...names: string[]): Promise<{ exitCode: number; output: string }> {
      const result = await execa('pacman', ['--noconfirm', '--config', conf, '--root', root, '--dbpath', join(root, 'var/lib/pacman'), '--cachedir', join(dir, 'cache'), '--gpgdir', gpgdir, '--logfile', join(dir, 'pacman.log'), '-Sy', ...names], { reject: false, all: true, env: { LC_ALL: 'C' } });
      return { exitCode: result.exitCode ?? -1, output: String(result.all) };
    },
    /** Stops the keyring's gpg-agent (and the dirmngr a key look-up started). */
    close: () => execa('gpgconf', ['--homedir', gpgdir, '--kill', 'all'], { reject: false }),
  };
}

/**
 * An apt of its own: sources list, state, cache and status in a temporary directory, one flat repository
 * at `url` with `signed-by=` the key (an armored `.asc` file); nothing of the machine's apt configuration
 * is read. `update` runs `apt-get update` and answers with its exit status and output.
 */
export function privateApt(options: { url: string; publicKey: string }) {
  const dir = tempDir('quarters-apt-');
  const empty = join(dir, 'empty');
  for (const sub of ['state/lists/partial', 'cache/archives/partial', 'empty']) mkdirSync(join(dir, sub), { recursive: true });
  writeFileSync(join(dir, 'status'), '');
  writeFileSync(join(dir, 'key.asc'), options.publicKey);
  writeFileSync(join(dir, 'sources.list'), `deb [signed-by=${join(dir, 'key.asc')}] ${options.url} ./\n`);
  const args = [
    '-o', `Dir::Etc::SourceList=${join(dir, 'sources.list')}`, '-o', `Dir::Etc::SourceParts=${empty}`, '-o', `Dir::State=${join(dir, 'state')}`,
    '-o', `Dir::Cache=${join(dir, 'cache')}`, '-o', `Dir::State::status=${join(dir, 'status')}`, '-o', `Dir::Etc::Trusted=${join(empty, 'none.gpg')}`,
    '-o', `Dir::Etc::TrustedParts=${empty}`, '-o', `Dir::Etc::Preferences=${join(empty, 'none')}`, '-o', `Dir::Etc::PreferencesParts=${empty}`,
    // Downloads run as root here: the _apt user cannot write to a temporary directory of root's.
    '-o', 'APT::Sandbox::User=root',
  ];
  return {
    dir,
    async update(): Promise<{ exitCode: number; output: string }> {
      const result = await execa('apt-get', [...args, 'update'], { reject: false, all: true, env: { LC_ALL: 'C' } });
      return { exitCode: result.exitCode ?? -1, output: String(result.all) };
    },
    /** What apt knows of a package after update (`apt-cache policy NAME`). */
    async policy(name: string): Promise<string> {
      return String((await execa('apt-cache', [...args, 'policy', name], { reject: false, all: true, env: { LC_ALL: 'C' } })).all);
    },
  };
}
