/**
 * Signing repositories with the server's key ([signing]), by gpg itself. The key lives in a GnuPG home
 * of the server's own (`<data_dir>/gnupg`, 0700, the armored key file imported at start) or in the
 * GnuPG home the config names; the passphrase goes to gpg on its stdin (`--pinentry-mode loopback
 * --passphrase-fd 0`), never on a command line, in a log or to a build. A key that cannot sign (a wrong
 * passphrase, expired, revoked) is a problem the server reports (/healthz, the upload's answer) while
 * refusing to publish: a repository is signed with its index or not changed at all.
 */
import { execa, execaSync } from 'execa';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SigningConfig } from '../../core/server-config.js';

/** The key cannot be used: the config names a key that is not there, or gpg refused to sign. */
export class SigningError extends Error {
  override name = 'SigningError';
  constructor(
    message: string,
    /** The [signing] key whose value is wrong, when the config is to blame. */
    readonly configKey: 'key_file' | 'gnupg_home' | 'key_id' | null = null,
  ) {
    super(message);
  }
}

/** The key as gpg lists it. */
export interface SigningKey {
  fingerprint: string;
  /** The primary user id, "Name <email>". */
  uid: string;
}

/** gpg's environment: the server's, with messages in English (they are shown as reasons); --homedir overrides any GNUPGHOME. */
const gpgEnv = () => ({ LC_ALL: 'C' });

/** The last lines gpg wrote that say something (its "gpg: " prefix removed), for a one-line reason. */
function gpgReason(stderr: string): string {
  const lines = stderr.split('\n').map((l) => l.replace(/^gpg: /, '').trim()).filter((l) => l && !/^(using|WARNING: unsafe)/.test(l));
  return lines.slice(-2).join('; ') || 'gpg failed without saying why';
}

/** What `gpg --with-colons --list-secret-keys` says of the key: its fingerprint, uid, and why it cannot sign (null: it can). */
function readKey(listing: string, keyId: string): SigningKey & { unusable: string | null } {
  const records = listing.split('\n').map((l) => l.split(':'));
  const sec = records.findIndex((r) => r[0] === 'sec');
  if (sec < 0) throw new SigningError(`no secret key ${keyId}`);
  const fields = records[sec]!;
  const fingerprint = records.slice(sec + 1).find((r) => r[0] === 'fpr')?.[9] ?? '';
  const uid = records.slice(sec + 1).find((r) => r[0] === 'uid')?.[9] ?? '';
  const validity = fields[1];
  const expires = Number(fields[6]);
  const unusable =
    validity === 'r' ? 'the key is revoked'
    : validity === 'e' || (expires > 0 && expires * 1000 < Date.now()) ? `the key expired on ${new Date(expires * 1000).toISOString().slice(0, 10)}`
    : !(fields[11] ?? '').includes('S') ? 'the key has no usable signing (sub)key'
    : null;
  return { fingerprint, uid, unusable };
}

/** The signing key of a server and the gpg that uses it. */
export class Signer {
  private problemText: string | null = null;
  private readonly armoredPublicKey: string;

  private constructor(
    private readonly home: string,
    private readonly ownHome: boolean,
    readonly key: SigningKey,
    private readonly passphrase: string,
  ) {
    this.armoredPublicKey = this.gpgSync(['--armor', '--export', key.fingerprint]).stdout;
    if (!this.armoredPublicKey.includes('BEGIN PGP PUBLIC KEY BLOCK')) throw new SigningError(`gpg exported no public key for ${key.fingerprint}`);
  }

  /**
   * Opens the key the config names: imports `key_file` into `<dataDir>/gnupg` (or uses `gnupg_home`), finds
   * the key and tries it. Throws SigningError naming the config key when the key is not there; a key that
   * is there but cannot sign (a wrong passphrase, expired) is not an error here: problem() says why.
   */
  static open(config: SigningConfig, dataDir: string): Signer {
    const ownHome = config.key_file !== undefined;
    const home = config.gnupg_home ?? join(dataDir, 'gnupg');
    try {
      return Signer.openIn(home, ownHome, config);
    } catch (error) {
      // The import started an agent for the server's own home; nothing will stop it otherwise.
      if (ownHome) execaSync('gpgconf', ['--homedir', home, '--kill', 'gpg-agent'], { reject: false });
      throw error;
    }
  }

  private static openIn(home: string, ownHome: boolean, config: SigningConfig): Signer {
    if (ownHome) {
      mkdirSync(home, { recursive: true, mode: 0o700 });
      chmodSync(home, 0o700);
      // Every signature asks for the passphrase: a cached one would hide a wrong one until the agent forgot it.
      writeFileSync(join(home, 'gpg-agent.conf'), 'allow-loopback-pinentry\ndefault-cache-ttl 0\nmax-cache-ttl 0\n', { mode: 0o600 });
      if (!existsSync(config.key_file!)) throw new SigningError(`${config.key_file} does not exist`, 'key_file');
      const imported = execaSync('gpg', ['--homedir', home, '--batch', '--no-tty', '--import', config.key_file!], { reject: false, env: gpgEnv() });
      if (imported.failed) throw new SigningError(`gpg cannot import ${config.key_file}: ${gpgReason(String(imported.stderr))}`, 'key_file');
    } else if (!existsSync(home)) {
      throw new SigningError(`${home} does not exist`, 'gnupg_home');
    }
    const keyId = config.key_id.replace(/^0x/, '').toUpperCase();
    const listing = execaSync('gpg', ['--homedir', home, '--batch', '--no-tty', '--with-colons', '--fixed-list-mode', '--list-secret-keys', keyId], { reject: false, env: gpgEnv() });
    if (listing.failed) throw new SigningError(`${keyId} is not a secret key in ${ownHome ? `the key file ${config.key_file}` : home}: ${gpgReason(String(listing.stderr))}`, 'key_id');
    let key;
    try {
      key = readKey(String(listing.stdout), keyId);
    } catch (error) {
      throw new SigningError((error as Error).message, 'key_id');
    }
    const signer = new Signer(home, ownHome, { fingerprint: key.fingerprint, uid: key.uid }, config.passphrase ?? '');
    if (key.unusable) signer.problemText = `the signing key ${key.fingerprint} cannot sign: ${key.unusable}`;
    else signer.probeSync();
    return signer;
  }

  /** The armored public key, as served at /signing-key.asc. */
  publicKey(): string {
    return this.armoredPublicKey;
  }

  /** Why the key could not sign last time it was asked to (null: it could). */
  problem(): string | null {
    return this.problemText;
  }

  /** Signs a small text to find out whether the key can sign now; updates problem(). */
  async probe(): Promise<string | null> {
    const dir = mkdtempSync(join(tmpdir(), 'quarters-signing-probe-'));
    try {
      writeFileSync(join(dir, 'probe'), 'quarters signing probe\n');
      await this.sign(['--detach-sign', '--output', join(dir, 'probe.sig'), join(dir, 'probe')]).catch((error: unknown) => {
        if (!(error instanceof SigningError)) throw error;
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    return this.problemText;
  }

  /** probe(), at start-up (the server is made synchronously). */
  private probeSync(): void {
    const dir = mkdtempSync(join(tmpdir(), 'quarters-signing-probe-'));
    try {
      writeFileSync(join(dir, 'probe'), 'quarters signing probe\n');
      const result = execaSync('gpg', this.signArgs(['--detach-sign', '--output', join(dir, 'probe.sig'), join(dir, 'probe')]), { input: this.passphrase, reject: false, env: gpgEnv() });
      this.problemText = result.failed ? `the signing key ${this.key.fingerprint} cannot sign: ${gpgReason(String(result.stderr))}` : null;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  /** Throws SigningError when the key could not sign last time and still cannot: nothing is to be published unsigned. */
  async ensureUsable(): Promise<void> {
    if (this.problemText === null) return;
    const problem = await this.probe();
    if (problem !== null) throw new SigningError(problem);
  }

  /** A binary detached signature of `file` at `output` (pacman's `.sig`, apt's `Release.gpg` with armor). */
  detachSign(file: string, output: string, options: { armor?: boolean } = {}): Promise<void> {
    return this.sign([...(options.armor ? ['--armor'] : []), '--detach-sign', '--output', output, file]);
  }

  /** A clear-signed copy of `file` at `output` (apt's `InRelease`). */
  clearSign(file: string, output: string): Promise<void> {
    return this.sign(['--clearsign', '--output', output, file]);
  }

  private signArgs(args: string[]): string[] {
    return [...this.baseArgs(), '--pinentry-mode', 'loopback', '--passphrase-fd', '0', '--local-user', this.key.fingerprint, '--digest-algo', 'SHA512', ...args];
  }

  private async sign(args: string[]): Promise<void> {
    const result = await execa('gpg', this.signArgs(args), { input: this.passphrase, reject: false, env: gpgEnv() });
    if (result.failed) {
      this.problemText = `the signing key ${this.key.fingerprint} cannot sign: ${gpgReason(String(result.stderr))}`;
      throw new SigningError(this.problemText);
    }
    this.problemText = null;
  }

  private baseArgs(): string[] {
    return ['--homedir', this.home, '--batch', '--no-tty', '--yes'];
  }

  private gpgSync(args: string[]) {
    const result = execaSync('gpg', [...this.baseArgs(), ...args], { reject: false, env: gpgEnv() });
    if (result.failed) throw new SigningError(`gpg ${args[0]} failed: ${gpgReason(String(result.stderr))}`);
    return { stdout: String(result.stdout) };
  }

  /** Stops the gpg-agent of the server's own GnuPG home (an operator's home keeps its agent). */
  async close(): Promise<void> {
    if (this.ownHome) await execa('gpgconf', ['--homedir', this.home, '--kill', 'gpg-agent'], { reject: false });
  }
}
