/**
 * The "newc" cpio format the Linux kernel unpacks as an initramfs (Documentation/driver-api/early-userspace/buffer-format.rst):
 * the VM's init and, per command, its plan are written as archives like this. Several archives one
 * after the other form one initramfs, later files replacing earlier ones.
 */

export type CpioEntry =
  | { path: string; type: 'dir'; mode?: number }
  | { path: string; type: 'file'; mode?: number; content: Buffer | string }
  | { path: string; type: 'symlink'; target: string };

const TRAILER = 'TRAILER!!!';

/** One archive of these entries (owned by root, dated 0), ending with the trailer. */
export function cpioArchive(entries: readonly CpioEntry[]): Buffer {
  const parts: Buffer[] = [];
  let offset = 0;
  let inode = 1;
  const push = (buffer: Buffer): void => {
    parts.push(buffer);
    offset += buffer.length;
  };
  const pad = (): void => {
    if (offset % 4) push(Buffer.alloc(4 - (offset % 4)));
  };
  const add = (name: string, mode: number, data: Buffer): void => {
    if (name.includes('\0')) throw new Error(`cpio entry ${JSON.stringify(name)} contains a NUL byte`);
    const nameBytes = Buffer.from(`${name}\0`, 'utf8');
    const fields = [inode++, mode, 0, 0, 1, 0, data.length, 0, 0, 0, 0, nameBytes.length, 0];
    push(Buffer.from(`070701${fields.map((field) => field.toString(16).padStart(8, '0')).join('')}`, 'ascii'));
    push(nameBytes);
    pad();
    push(data);
    pad();
  };
  for (const entry of entries) {
    const name = entry.path.replace(/^\/+/, '');
    if (!name || name.split('/').includes('..')) throw new Error(`cpio entry path ${JSON.stringify(entry.path)} must name something below the archive's root`);
    if (entry.type === 'dir') add(name, 0o040000 | (entry.mode ?? 0o755), Buffer.alloc(0));
    else if (entry.type === 'symlink') add(name, 0o120777, Buffer.from(entry.target, 'utf8'));
    else add(name, 0o100000 | (entry.mode ?? 0o644), typeof entry.content === 'string' ? Buffer.from(entry.content, 'utf8') : entry.content);
  }
  add(TRAILER, 0, Buffer.alloc(0));
  return Buffer.concat(parts);
}
