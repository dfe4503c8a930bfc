/**
 * The archive listing of a pacman package, taken while its upload streams past: the body's chunks are
 * fed to `bsdtar --exclude='^.*' -tf -` (the listing repo-add takes for the `files` database), so that
 * the index need not decompress the whole package again once it is on disk. bsdtar reads any of
 * makepkg's compressions. A package bsdtar cannot read (or with a name it cannot convert) gives no
 * listing (null), not an error: the package check that follows refuses a broken one with its own
 * reason, and the index lists a good one from the file, as repo-add would.
 */
import { spawn } from 'node:child_process';
import { LISTING_ENV } from './pacman-index.js';

/** Feeds a body to bsdtar as it arrives; `finish()` gives the listing. */
export class PackageListing {
  private readonly child = spawn('bsdtar', ['--exclude=^.*', '-tf', '-'], { stdio: ['pipe', 'pipe', 'ignore'], env: { ...process.env, ...LISTING_ENV } });
  private readonly output: Buffer[] = [];
  private readonly exited: Promise<number | null>;
  private gone = false;

  constructor() {
    this.child.stdout.on('data', (chunk: Buffer) => this.output.push(chunk));
    // bsdtar may stop reading after the archive's end (padding follows) or on a bad archive: what it
    // did not read is not needed, and its exit status says whether the listing is whole.
    this.child.stdin.on('error', () => (this.gone = true));
    this.exited = new Promise((resolve) => {
      this.child.once('error', () => resolve(null));
      this.child.once('close', (code) => resolve(code));
    });
    void this.exited.then(() => (this.gone = true));
  }

  /** Passes a chunk on; the promise (only when bsdtar is behind) resolves once it may take more. */
  write(chunk: Uint8Array): Promise<void> | undefined {
    if (this.gone || this.child.stdin.write(chunk)) return undefined;
    return new Promise((resolve) => {
      const go = () => {
        this.child.stdin.off('drain', go);
        this.child.stdin.off('close', go);
        resolve();
      };
      this.child.stdin.on('drain', go);
      this.child.stdin.on('close', go);
    });
  }

  /** Ends the body; the package's paths (hidden metadata files left out), or null when bsdtar could not list it. */
  async finish(): Promise<string[] | null> {
    if (!this.gone) this.child.stdin.end();
    const code = await this.exited;
    if (code !== 0) return null;
    return Buffer.concat(this.output).toString('utf8').split('\n').filter((p) => p !== '');
  }

  /** Stops bsdtar (the upload failed). */
  abort(): void {
    this.child.stdin.destroy();
    this.child.kill('SIGKILL');
  }
}
