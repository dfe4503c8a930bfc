/**
 * The guest's kernel and what its initramfs loads: the runner host's own kernel package (Debian's
 * linux-image-amd64 installs /boot/vmlinuz-VERSION and /lib/modules/VERSION), booted directly by
 * qemu. The modules the VM needs (virtio, the root disk's ext4, 9p, the network card) are picked
 * from modules.dep with everything they depend on, in load order.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';

export interface GuestKernel {
  /** The kernel image qemu boots (-kernel). */
  image: string;
  /** Its release (uname -r), naming /lib/modules/RELEASE. */
  release: string;
  modulesDir: string;
}

/** What the guest loads, by module name; each with its dependencies. */
/** ext4 asks for crc32c by name only (a soft dependency modules.dep does not list): loaded first. */
export const GUEST_MODULES = ['virtio_pci', 'virtio_blk', 'virtio_console', 'virtio_net', 'crc32c_generic', 'ext4', '9pnet_virtio', '9p', 'virtiofs'] as const;

/** Modules a kernel may have built in instead: missing from modules.dep is fine when built in (modules.builtin). */
function builtIn(modulesDir: string): Set<string> {
  const file = join(modulesDir, 'modules.builtin');
  if (!existsSync(file)) return new Set();
  return new Set(readFileSync(file, 'utf8').split('\n').filter(Boolean).map(moduleName));
}

/** "kernel/fs/9p/9p.ko.xz" -> "9p"; the kernel treats "-" and "_" in module names alike. */
function moduleName(path: string): string {
  return basename(path).replace(/\.ko(\.[a-z]+)?$/, '').replace(/-/g, '_');
}

/**
 * The kernel to boot: `configured` when it is a path, else ("auto") the newest /boot/vmlinuz-* that
 * has its /lib/modules directory. Throws naming what is missing and how to get it.
 */
export function findGuestKernel(configured: string, bootDir = '/boot', modulesRoot = '/lib/modules'): GuestKernel {
  if (configured !== 'auto') {
    if (!existsSync(configured)) throw new Error(`qemu.kernel ${configured} does not exist`);
    const release = basename(configured).replace(/^vmlinuz-/, '');
    const modulesDir = join(modulesRoot, release);
    if (!existsSync(join(modulesDir, 'modules.dep'))) throw new Error(`qemu.kernel ${configured}: its modules are not in ${modulesDir} (the file name must be vmlinuz-RELEASE, with /lib/modules/RELEASE beside it)`);
    return { image: configured, release, modulesDir };
  }
  const candidates = (existsSync(bootDir) ? readdirSync(bootDir) : [])
    .filter((name) => name.startsWith('vmlinuz-'))
    .map((name) => name.slice('vmlinuz-'.length))
    .filter((release) => existsSync(join(modulesRoot, release, 'modules.dep')))
    .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  const release = candidates.at(-1);
  if (!release) throw new Error(`no kernel for the VMs: no ${bootDir}/vmlinuz-RELEASE with ${modulesRoot}/RELEASE/modules.dep (install a kernel package, e.g. "apt-get install linux-image-amd64", or set qemu.kernel)`);
  return { image: join(bootDir, `vmlinuz-${release}`), release, modulesDir: join(modulesRoot, release) };
}

/** The module files to load, dependencies first, each once; throws naming a module the kernel has neither as a file nor built in. */
export function guestModuleFiles(kernel: GuestKernel, wanted: readonly string[] = GUEST_MODULES): string[] {
  const deps = new Map<string, { path: string; needs: string[] }>();
  for (const line of readFileSync(join(kernel.modulesDir, 'modules.dep'), 'utf8').split('\n')) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const path = line.slice(0, colon).trim();
    deps.set(moduleName(path), { path, needs: line.slice(colon + 1).trim().split(/\s+/).filter(Boolean).map(moduleName) });
  }
  const builtin = builtIn(kernel.modulesDir);
  const ordered: string[] = [];
  const seen = new Set<string>();
  const visit = (name: string, chain: string[]): void => {
    if (seen.has(name)) return;
    seen.add(name);
    const entry = deps.get(name);
    if (!entry) {
      if (builtin.has(name)) return;
      throw new Error(`kernel ${kernel.release} has no module ${name}${chain.length ? ` (needed by ${chain.join(' <- ')})` : ''} and does not build it in`);
    }
    for (const need of entry.needs) visit(need, [name, ...chain]);
    ordered.push(join(kernel.modulesDir, entry.path));
  };
  for (const name of wanted) visit(name.replace(/-/g, '_'), []);
  return ordered;
}

/** What identifies a kernel for caching images made with it: its path, size and change time. */
export function kernelIdentity(kernel: GuestKernel): string {
  const stat = statSync(kernel.image);
  return `${kernel.image}:${stat.size}:${stat.mtimeMs}`;
}

/** True when `elf` is a 64-bit ELF kernel with a PVH entry note (Xen's PHYS32_ENTRY), which qemu boots directly. */
export function hasPvhEntry(elf: Buffer): boolean {
  if (elf.length < 64 || elf.readUInt32BE(0) !== 0x7f454c46 || elf[4] !== 2 || elf[5] !== 1) return false;
  const phoff = Number(elf.readBigUInt64LE(0x20));
  const phentsize = elf.readUInt16LE(0x36);
  const phnum = elf.readUInt16LE(0x38);
  for (let i = 0; i < phnum; i++) {
    const header = phoff + i * phentsize;
    if (header + 0x28 > elf.length || elf.readUInt32LE(header) !== 4) continue;
    const start = Number(elf.readBigUInt64LE(header + 0x08));
    const end = Math.min(elf.length, start + Number(elf.readBigUInt64LE(header + 0x20)));
    for (let at = start; at + 12 <= end; ) {
      const [nameSize, descSize, type] = [elf.readUInt32LE(at), elf.readUInt32LE(at + 4), elf.readUInt32LE(at + 8)];
      const name = elf.subarray(at + 12, at + 12 + nameSize).toString('latin1');
      if (name === 'Xen\0' && type === 18) return true;
      at += 12 + Math.ceil(nameSize / 4) * 4 + Math.ceil(descSize / 4) * 4;
    }
  }
  return false;
}

/** Where a compressed payload starts in a bzImage, and the tool that unpacks it. */
const PAYLOADS: readonly { magic: Buffer; tool: string }[] = [
  { magic: Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]), tool: 'xz' },
  { magic: Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), tool: 'zstd' },
  { magic: Buffer.from([0x1f, 0x8b, 0x08]), tool: 'gzip' },
];

/**
 * The kernel inside a bzImage, uncompressed, when it can be booted through PVH: qemu then loads it
 * as it is, with no firmware run and no decompression (seconds under TCG); null when the image
 * holds none we can unpack (qemu boots the bzImage then). `unpack(tool, bytes)` decompresses one stream.
 */
export async function uncompressedPvhKernel(bzImage: Buffer, unpack: (tool: string, bytes: Buffer) => Promise<Buffer | null>): Promise<Buffer | null> {
  for (const { magic, tool } of PAYLOADS) {
    for (let at = bzImage.indexOf(magic); at >= 0; at = bzImage.indexOf(magic, at + 1)) {
      const elf = await unpack(tool, bzImage.subarray(at));
      if (elf && hasPvhEntry(elf)) return elf;
    }
  }
  return null;
}
