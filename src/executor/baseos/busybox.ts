/** A minimal base OS tree made of busybox-static: enough for systemd-nspawn, for smoke tests and benchmarks. */
import { chmod, chown, copyFile, mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describeEnd, runProcess } from '../../common/child-process.js';

export const BUSYBOX = '/bin/busybox';

/** Fills the empty directory `root` with a busybox tree (os-release, passwd with root and a build user). */
export async function writeBusyboxTree(root: string, busybox: string = BUSYBOX): Promise<void> {
  for (const dir of ['bin', 'sbin', 'etc', 'usr/bin', 'usr/sbin', 'usr/lib', 'tmp', 'var/tmp', 'root', 'home/build', 'proc', 'sys', 'dev', 'run']) {
    await mkdir(join(root, dir), { recursive: true, mode: 0o755 });
  }
  await chmod(join(root, 'tmp'), 0o1777);
  await chmod(join(root, 'var/tmp'), 0o1777);
  await chmod(join(root, 'root'), 0o700);
  await copyFile(busybox, join(root, 'bin/busybox'));
  await chmod(join(root, 'bin/busybox'), 0o755);
  const list = await runProcess(busybox, ['--list-full'], { capture: true });
  if (list.exitCode !== 0) throw new Error(`${busybox} --list-full ${describeEnd(list)}: ${list.stderr.trim()}`);
  const stdout = list.stdout;
  for (const applet of stdout.split('\n').filter(Boolean)) {
    if (applet === 'bin/busybox') continue;
    await symlink('/bin/busybox', join(root, applet)).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'EEXIST') throw error;
    });
  }
  const files: Record<string, string> = {
    'usr/lib/os-release': 'ID=busybox\nNAME="busybox (quarters test base)"\n',
    'etc/passwd': 'root:x:0:0:root:/root:/bin/sh\nbuild:x:1000:1000:build:/home/build:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n',
    'etc/group': 'root:x:0:\nbuild:x:1000:\nnogroup:x:65534:\n',
  };
  for (const [path, content] of Object.entries(files)) {
    await writeFile(join(root, path), content);
    // Explicit modes: the tree must not depend on the umask of whoever loads it.
    await chmod(join(root, path), 0o644);
  }
  await chmod(join(root, 'home/build'), 0o755);
  await chown(join(root, 'home/build'), 1000, 1000);
}
