/**
 * A base OS version as the VMs boot it: versions/VERSION/qemu-KEY/ holds `disk.raw` (an ext4 file
 * system made from the version's tree with `mkfs.ext4 -d`: no loop device, no mount, no network),
 * the kernel and the initramfs (busybox, the kernel's modules the VM needs, init). Made on first use
 * under a lock, in a staging directory renamed into place whole, and kept until the version goes.
 * KEY hashes what the image is made from (kernel, file system size, the init's version), so a new
 * kernel or a new size makes a new image.
 */
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { copyFile, readFile, rename, truncate, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { describeEnd, runProcess } from '../../../common/child-process.js';
import { BaseOsError, type BaseVersion } from '../../baseos/store.js';
import { diskUsage } from '../../disk-usage.js';
import { makeDir, removeTree, writeFileAtomic } from '../../fs-layers.js';
import { withLockUnlessSettled } from '../../lock.js';
import { cpioArchive, type CpioEntry } from './cpio.js';
import { INIT_SCRIPT } from './guest-plan.js';
import { findGuestKernel, guestModuleFiles, kernelIdentity, uncompressedPvhKernel, type GuestKernel } from './kernel.js';

/** Bump when the initramfs, the kernel's form or the disk's making changes. */
const IMAGE_FORMAT = 2;

/** Where busybox comes from: Debian's busybox-static (the guest's init cannot depend on the guest's libraries). */
const BUSYBOX = '/bin/busybox';

export interface VmImageFiles {
  dir: string;
  disk: string;
  kernel: string;
  initrd: string;
}

/** The files of an image directory. */
export function vmImageFiles(dir: string): VmImageFiles {
  return { dir, disk: join(dir, 'disk.raw'), kernel: join(dir, 'kernel'), initrd: join(dir, 'initrd.img') };
}

export interface ImageOptions {
  /** qemu.kernel: a path, or "auto". */
  kernel: string;
  /** Room for what jobs write, beyond the tree itself, in MiB. */
  spareMib: number;
}

/** The image of `version` for these options; made when missing. */
export async function ensureVmImage(version: BaseVersion, options: ImageOptions, log: (line: string) => void): Promise<VmImageFiles> {
  let kernel: GuestKernel;
  try {
    kernel = findGuestKernel(options.kernel);
  } catch (error) {
    throw new BaseOsError((error as Error).message);
  }
  const key = createHash('sha256').update(JSON.stringify([IMAGE_FORMAT, kernelIdentity(kernel), options.spareMib])).digest('hex').slice(0, 12);
  const dir = join(dirname(version.root), `qemu-${key}`);
  const files = vmImageFiles(dir);
  const made = async (): Promise<VmImageFiles | null> => (existsSync(dir) ? files : null);
  return withLockUnlessSettled(`${dir}.lock`, made, async () => {
    const staging = `${dir}.staging`;
    await removeTree(staging);
    await makeDir(staging, 0o700);
    try {
      const started = Date.now();
      log(`quarters: making the VM image of base OS ${version.version} (kernel ${kernel.release})`);
      const into = vmImageFiles(staging);
      await writeBootKernel(kernel.image, into.kernel, log);
      await writeFile(into.initrd, await initramfs(kernel), { mode: 0o600 });
      await makeRootDisk(version.root, into.disk, options.spareMib);
      await writeFileAtomic(join(staging, 'meta.json'), JSON.stringify({ version: version.version, kernel: kernel.image, release: kernel.release, spareMib: options.spareMib, format: IMAGE_FORMAT, created: new Date().toISOString() }, null, 2));
      await rename(staging, dir);
      log(`quarters: VM image ${dir} made in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    } catch (error) {
      await removeTree(staging);
      throw new BaseOsError(`the VM image of base OS ${version.version}: ${(error as Error).message}`);
    }
    return files;
  });
}

/** The kernel as qemu boots it fastest: uncompressed with its PVH entry where it has one, else the bzImage as it is. */
async function writeBootKernel(image: string, into: string, log: (line: string) => void): Promise<void> {
  const elf = await uncompressedPvhKernel(await readFile(image), async (tool, bytes) => {
    try {
      // One stream: what follows the payload in the bzImage is not the decompressor's business.
      return await decompress(tool, tool === 'xz' ? ['-dc', '--single-stream'] : ['-dc'], bytes);
    } catch {
      return null;
    }
  });
  if (elf) await writeFile(into, elf, { mode: 0o600 });
  else {
    log(`quarters: ${image} has no uncompressed kernel with a PVH entry to unpack: VMs boot it through the firmware (slower)`);
    await copyFile(image, into);
  }
}

/** Runs `tool args` with `input` on stdin; its stdout (a missing tool or a failure throws). */
function decompress(tool: string, args: readonly string[], input: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn(tool, args, { stdio: ['pipe', 'pipe', 'ignore'] });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(Buffer.concat(chunks)) : reject(new Error(`${tool} exited with ${code}`))));
    child.stdin.on('error', () => undefined);
    child.stdin.end(input);
  });
}

/** busybox, the modules (uncompressed: busybox's insmod takes plain .ko files) and init, as one archive. */
async function initramfs(kernel: GuestKernel): Promise<Buffer> {
  if (!existsSync(BUSYBOX)) throw new Error(`${BUSYBOX} is missing (install Debian's busybox-static)`);
  const modules = guestModuleFiles(kernel);
  const entries: CpioEntry[] = ['bin', 'dev', 'proc', 'sys', 'newroot', 'lib', 'lib/modules'].map((path) => ({ path, type: 'dir' as const }));
  entries.push({ path: 'bin/busybox', type: 'file', mode: 0o755, content: await readFile(BUSYBOX) });
  const names: string[] = [];
  for (const file of modules) {
    const name = file.split('/').pop()!.replace(/\.(xz|zst|gz)$/, '');
    names.push(name);
    entries.push({ path: `lib/modules/${name}`, type: 'file', mode: 0o644, content: await moduleBytes(file) });
  }
  entries.push({ path: 'modules', type: 'file', content: `${names.join('\n')}\n` });
  entries.push({ path: 'init', type: 'file', mode: 0o755, content: INIT_SCRIPT });
  return cpioArchive(entries);
}

async function moduleBytes(file: string): Promise<Buffer> {
  const tool = file.endsWith('.xz') ? 'xz' : file.endsWith('.zst') ? 'zstd' : file.endsWith('.gz') ? 'gzip' : null;
  if (!tool) return readFile(file);
  try {
    return (await promisify(execFile)(tool, ['-dc', file], { encoding: 'buffer', maxBuffer: 256 * 1024 ** 2 })).stdout;
  } catch (error) {
    throw new Error(`cannot decompress ${file} with ${tool}: ${(error as Error).message}`);
  }
}

/** An ext4 file system of the tree with `spareMib` free, as a sparse raw file; no journal (a job's disk is thrown away, an instance's made whole or not at all). */
async function makeRootDisk(root: string, disk: string, spareMib: number): Promise<void> {
  const used = await diskUsage(root);
  const sizeMib = Math.ceil((used * 1.1) / 1024 ** 2) + 256 + spareMib;
  await writeFile(disk, '', { mode: 0o600 });
  await truncate(disk, sizeMib * 1024 ** 2);
  const result = await runProcess('mkfs.ext4', ['-q', '-F', '-L', 'quarters-root', '-O', '^has_journal', '-m', '0', '-E', 'lazy_itable_init=1,nodiscard,root_owner=0:0', '-d', root, disk], { capture: true });
  if (result.exitCode !== 0) throw new Error(`mkfs.ext4 -d ${root} ${describeEnd(result)}: ${result.output.trim().split('\n').slice(-3).join('; ')}`);
}
