/**
 * The boot disk of the systemd-host VM: the `systemd-host` base of scripts/make-base (systemd as
 * PID 1, machined, a kernel and an initrd) plus a unit that, at boot, runs what the host put on the
 * VM's second disk (see work-disk.ts) and powers off. Made with `mkfs.ext4 -d` from a read-only
 * overlay of the files below on the base tree (no loop device), and cached, with the kernel and
 * initrd beside it, in QUARTERS_TEST_CACHE/systemd-host/KEY/: the key is a hash of the base and of
 * everything added here, so a change makes a new image. Boot it with -snapshot semantics
 * (qemu.ts does), so the cached image stays as made.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, copyFile, mkdir, mkdtemp, readdir, rename, rm, symlink, truncate, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { execa } from 'execa';
import { baseTree, testCacheDir } from '../make-base.js';

/** Bump when the way the image is made changes beyond what ADDED and the base show. */
const IMAGE_VERSION = 1;

/** Room for what the tests write in the VM (work dirs, base OS layers), beyond the base itself. */
const IMAGE_BYTES = 3 * 1024 ** 3;

/** Where the second disk is mounted in the VM; its `run` is what the VM is for. */
export const WORK_MOUNT = '/vm';

export interface VmImage {
  /** The ext4 root filesystem (open it read-only or as a snapshot). */
  root: string;
  kernel: string;
  initrd: string;
  /** The kernel command line that boots `root` as /dev/vda with the console on the first serial port. */
  append: string;
}

const BOOT_SCRIPT = `#!/bin/sh
# Runs the host's errand: the second disk holds the project, node (bin/) and an executable "run",
# which leaves its results in results/. Then the disk is flushed and unmounted for the host to read.
set -u
mkdir -p ${WORK_MOUNT}
if ! mount /dev/vdb ${WORK_MOUNT}; then
  echo "quarters-vm: cannot mount the work disk /dev/vdb" >&2
  exit 1
fi
cd ${WORK_MOUNT}
PATH=${WORK_MOUNT}/bin:/usr/sbin:/usr/bin:/sbin:/bin ./run
echo "$?" > results/exit-status
cd /
sync
umount ${WORK_MOUNT} || mount -o remount,ro ${WORK_MOUNT} || sync
`;

const UNIT = `[Unit]
Description=quarters: run the host's errand from the work disk, then power off
After=basic.target
SuccessAction=poweroff-force
FailureAction=poweroff-force

[Service]
Type=oneshot
ExecStart=/usr/local/sbin/quarters-vm-run
StandardOutput=journal+console
StandardError=journal+console
`;

// Units that only cost boot time here (emulated, every second counts) or print login prompts on the console.
const MASKED = [
  'serial-getty@ttyS0.service', 'getty@tty1.service', 'getty-static.service',
  'apt-daily.timer', 'apt-daily-upgrade.timer', 'dpkg-db-backup.timer', 'e2scrub_all.timer', 'e2scrub_reap.service',
  'fstrim.timer', 'systemd-tmpfiles-clean.timer', 'modprobe@drm.service', 'systemd-journal-flush.service',
];

/** Files added to the base: a path and its content and mode, or a symlink. */
const ADDED: Record<string, { content: string; mode: number } | { symlink: string }> = {
  'usr/local/sbin/quarters-vm-run': { content: BOOT_SCRIPT, mode: 0o755 },
  'etc/systemd/system/quarters-vm-run.service': { content: UNIT, mode: 0o644 },
  'etc/systemd/system/multi-user.target.wants/quarters-vm-run.service': { symlink: '../quarters-vm-run.service' },
  // The journal stays in memory: nothing to flush to disk at boot.
  'etc/systemd/journald.conf.d/volatile.conf': { content: '[Journal]\nStorage=volatile\n', mode: 0o644 },
  // debootstrap copies the host's; tools that resolve localhost need it in the VM.
  'etc/hosts': { content: '127.0.0.1 localhost\n::1 localhost\n', mode: 0o644 },
  'etc/hostname': { content: 'quarters-vm\n', mode: 0o644 },
  ...Object.fromEntries(MASKED.map((unit) => [`etc/systemd/system/${unit}`, { symlink: '/dev/null' }])),
};

const APPEND = 'root=/dev/vda rw console=ttyS0 panic=-1 quiet mitigations=off';

/** The image, made on first use (a few seconds once the base exists; the base takes minutes cold). */
export async function systemdHostImage(log: (line: string) => void = () => {}): Promise<VmImage> {
  const tree = await baseTree('systemd-host');
  const key = createHash('sha256').update(JSON.stringify({ tree, IMAGE_VERSION, IMAGE_BYTES, ADDED })).digest('hex').slice(0, 12);
  const dir = join(testCacheDir(), 'systemd-host', key);
  const image = { root: join(dir, 'root.img'), kernel: join(dir, 'vmlinuz'), initrd: join(dir, 'initrd.img'), append: APPEND };
  if (existsSync(dir)) return image;
  log(`making the image ${dir}`);
  await mkdir(dirname(dir), { recursive: true });
  const tmp = await mkdtemp(join(dirname(dir), `.${key}-`));
  try {
    const added = join(tmp, 'added');
    await writeAdded(added);
    const merged = join(tmp, 'merged');
    await mkdir(merged);
    await writeFile(join(tmp, 'root.img'), '');
    await truncate(join(tmp, 'root.img'), IMAGE_BYTES);
    // A private mount namespace: the overlay goes away with it, whatever happens.
    const made = await execa('unshare', ['--mount', '--propagation', 'private', '--', 'sh', '-c',
      'mount -t overlay -o "lowerdir=$1:$2" quarters-vm-image "$3" && mkfs.ext4 -q -F -L quarters-vm -d "$3" "$4"',
      'make-image', added, tree, merged, join(tmp, 'root.img')], { reject: false });
    if (made.exitCode !== 0) throw new Error(`making the systemd-host VM image from ${tree} failed (exit ${made.exitCode}): ${made.stderr}`);
    const boot = await bootFiles(tree);
    await copyFile(boot.kernel, join(tmp, 'vmlinuz'));
    await copyFile(boot.initrd, join(tmp, 'initrd.img'));
    await rm(added, { recursive: true });
    await rm(merged, { recursive: true });
    // Another test run may have made the same image meanwhile: either is fine.
    await rename(tmp, dir).catch(async (error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOTEMPTY' && error.code !== 'EEXIST') throw error;
      await rm(tmp, { recursive: true, force: true });
    });
  } catch (error) {
    await rm(tmp, { recursive: true, force: true });
    throw error;
  }
  return image;
}

async function writeAdded(root: string): Promise<void> {
  for (const [path, entry] of Object.entries(ADDED)) {
    const target = join(root, path);
    await mkdir(dirname(target), { recursive: true, mode: 0o755 });
    if ('symlink' in entry) {
      await symlink(entry.symlink, target);
    } else {
      await writeFile(target, entry.content);
      // Explicit modes: the image must not depend on the umask of whoever makes it.
      await chmod(target, entry.mode);
    }
  }
}

/** The kernel and initrd the base installed (the newest, if there are several). */
async function bootFiles(tree: string): Promise<{ kernel: string; initrd: string }> {
  const files = await readdir(join(tree, 'boot'));
  const version = files.filter((file) => file.startsWith('vmlinuz-')).map((file) => file.slice('vmlinuz-'.length)).sort().at(-1);
  if (!version || !files.includes(`initrd.img-${version}`)) {
    throw new Error(`${tree}/boot has no vmlinuz-VERSION with its initrd.img-VERSION (found: ${files.join(', ') || 'nothing'}); scripts/make-base's systemd-host profile installs linux-image-amd64 and initramfs-tools`);
  }
  return { kernel: join(tree, 'boot', `vmlinuz-${version}`), initrd: join(tree, 'boot', `initrd.img-${version}`) };
}
