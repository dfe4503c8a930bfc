/**
 * The VM's second disk, made fresh for each boot: the project as the host has it (with extra
 * layers on top, such as code compiled for the guest), the host's node binary in bin/, the
 * executable `run` the VM's boot unit starts, and an empty results/ for what the guest reports.
 * An ext4 image without a journal, made with `mkfs.ext4 -d` (no loop device) and read back with
 * debugfs once the VM is off: after the guest's sync, everything is on the disk as written.
 *
 * A block device rather than a 9p share: in an emulated VM, 9p costs a round trip per file, and
 * node loads hundreds of files per start.
 */
import { chmod, lstat, mkdir, mkdtemp, readFile, realpath, rm, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';

export interface WorkDiskContents {
  /** The project directory, seen at /vm/project in the VM. */
  project: string;
  /** Directories laid over the project, uppermost first (files at the same relative paths win). */
  overlays: readonly string[];
  /** The node binary, seen at /vm/bin/node. */
  node: string;
  /** The shell script the VM runs (as /vm/run, in /vm, with /vm/bin first on PATH). */
  run: string;
}

/** Room for the guest's results beyond the contents (sparse: costs nothing unused). */
const DISK_BYTES = 2 * 1024 ** 3;

/** Makes the disk image `image` (a new file) with these contents. */
export async function makeWorkDisk(image: string, contents: WorkDiskContents): Promise<void> {
  const stage = await mkdtemp(`${image}.stage-`);
  const modules = await nodeModulesLayer(image, contents.project);
  try {
    // The disk's root: mkdtemp made it 0700, and the guest's unprivileged host user walks below it.
    await chmod(stage, 0o755);
    await mkdir(join(stage, 'project'));
    await mkdir(join(stage, 'bin'));
    await writeFile(join(stage, 'bin', 'node'), '');
    await mkdir(join(stage, 'results'));
    await writeFile(join(stage, 'run'), contents.run, { mode: 0o755 });
    await writeFile(image, '');
    await truncate(image, DISK_BYTES);
    // The project and node are mounted into the stage in a private mount namespace, which takes the mounts with it.
    const layers = [...contents.overlays, ...(modules ? [modules] : []), contents.project];
    const mountProject = layers.length > 1 ? 'mount -t overlay -o "lowerdir=$1" quarters-vm-project "$2/project"' : 'mount --bind "$1" "$2/project"';
    const made = await execa('unshare', ['--mount', '--propagation', 'private', '--', 'sh', '-c',
      `${mountProject} && mount --bind "$3" "$2/bin/node" && mkfs.ext4 -q -F -O ^has_journal -L quarters-work -d "$2" "$4"`,
      'make-work-disk', layers.join(':'), stage, contents.node, image], { reject: false });
    if (made.exitCode !== 0) throw new Error(`making the work disk ${image} from ${contents.project} failed (exit ${made.exitCode}): ${made.stderr}`);
  } finally {
    await rm(stage, { recursive: true, force: true });
    if (modules) await rm(modules, { recursive: true, force: true });
  }
}

/**
 * A git worktree may share another's node_modules through a symlink, which the VM, seeing only this
 * disk, cannot follow: then a layer holding a hard-linked copy of it (a copy across filesystems),
 * to lay over the project; null when node_modules is a directory of the project's own.
 */
async function nodeModulesLayer(image: string, project: string): Promise<string | null> {
  const link = join(project, 'node_modules');
  if (!(await lstat(link).catch(() => null))?.isSymbolicLink()) return null;
  const layer = await mkdtemp(`${image}.modules-`);
  const target = await realpath(link);
  const linked = await execa('cp', ['-al', target, join(layer, 'node_modules')], { reject: false });
  if (linked.exitCode !== 0) {
    await rm(join(layer, 'node_modules'), { recursive: true, force: true });
    await execa('cp', ['-a', target, join(layer, 'node_modules')]);
  }
  return layer;
}

/** A file from the disk (a path inside it, such as /results/report.json); null when it is not there. */
export async function readFromWorkDisk(image: string, path: string): Promise<string | null> {
  const out = await mkdtemp(`${image}.read-`);
  try {
    // debugfs reports a missing file on stderr and still exits 0: the dumped file's absence tells.
    await execa('debugfs', ['-R', `dump ${path} ${join(out, 'file')}`, image], { reject: false });
    return await readFile(join(out, 'file'), 'utf8').catch(() => null);
  } finally {
    await rm(out, { recursive: true, force: true });
  }
}
