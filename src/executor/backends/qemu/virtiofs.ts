/**
 * Shares over virtiofs: one virtiofsd per shared directory, started before qemu and ended with it
 * (it exits when qemu goes; pdeathsig takes it along with the executor; its pid is recorded for
 * destroy). qemu 7.2's virtiofsd has no read-only mode: a read-only share is served from a
 * read-only bind mount of the directory, so the host's kernel refuses the writes whatever the guest
 * does. Where virtiofsd is missing, 9p (built into qemu) serves the shares instead.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { runProcess, whyFailed } from '../../../common/child-process.js';
import { makeDir, unmountBelow } from '../../fs-layers.js';
import { killRecordedProcess, recordProcess } from '../../process-identity.js';

/** Where distributions install virtiofsd (Debian 12: qemu-system-common's C version). */
const VIRTIOFSD_PATHS = ['/usr/libexec/virtiofsd', '/usr/lib/qemu/virtiofsd', '/usr/bin/virtiofsd'];

/** The virtiofsd to use, or null: 9p then. */
export function findVirtiofsd(): string | null {
  return VIRTIOFSD_PATHS.find((path) => existsSync(path)) ?? null;
}

export interface ServedShare {
  tag: string;
  socket: string;
}

export interface VirtiofsServers {
  shares: ServedShare[];
  /** Ends the daemons and takes the read-only mounts down. */
  close(): Promise<void>;
}

/** Starts a virtiofsd for each share, in `runtime` (sockets, pid files, read-only mounts); throws naming a share that cannot be served. */
export async function startVirtiofs(virtiofsd: string, runtime: string, shares: readonly { tag: string; host: string; readOnly: boolean }[]): Promise<VirtiofsServers> {
  const children: ChildProcess[] = [];
  const served: ServedShare[] = [];
  const close = async (): Promise<void> => {
    for (const child of children) child.kill('SIGKILL');
    await Promise.all(children.map((child) => (child.exitCode === null && child.signalCode === null ? new Promise((resolve) => child.once('exit', resolve)) : null)));
    await stopVirtiofs(runtime);
  };
  try {
    for (const share of shares) {
      let source = share.host;
      if (share.readOnly) {
        source = join(runtime, `ro-${share.tag}`);
        await makeDir(source, 0o700);
        const bound = await runProcess('/bin/sh', ['-c', 'mount --bind "$1" "$2" && mount -o remount,bind,ro "$2"', 'bind', share.host, source], { capture: true });
        if (bound.exitCode !== 0) throw new Error(`cannot make a read-only view of ${share.host}: ${whyFailed(bound)}`);
      }
      const socket = join(runtime, `virtiofs-${share.tag}.sock`);
      if (Buffer.byteLength(socket) > 107) throw new Error(`the socket path ${socket} is longer than a unix socket's 107 bytes (a shorter work_dir or qemu.shared_fs = "9p")`);
      await rm(socket, { force: true });
      const child = spawn('setpriv', ['--pdeathsig', 'KILL', '--', virtiofsd, `--socket-path=${socket}`, '-o', `source=${source}`, '-o', 'cache=auto', '-o', 'sandbox=namespace'], { stdio: ['ignore', 'ignore', 'pipe'] });
      children.push(child);
      let said = '';
      child.stderr?.on('data', (chunk: Buffer) => (said = (said + chunk.toString('utf8')).slice(-2000)));
      if (child.pid !== undefined) await recordProcess(join(runtime, `virtiofsd-${share.tag}.pid`), child.pid);
      for (let i = 0; i < 200 && !existsSync(socket); i++) {
        if (child.exitCode !== null) break;
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
      if (!existsSync(socket)) throw new Error(`virtiofsd did not start for ${share.host} (${child.exitCode === null ? 'no socket after 5 s' : `exited with ${child.exitCode}`}): ${said.trim().split('\n').slice(-3).join('; ')}`);
      served.push({ tag: share.tag, socket });
    }
  } catch (error) {
    await close();
    throw error;
  }
  return { shares: served, close };
}

/** Kills the virtiofsd daemons a job's runtime recorded and unmounts its read-only views (after an executor killed outright, too). */
export async function stopVirtiofs(runtime: string): Promise<void> {
  for (const entry of await readdir(runtime).catch(() => [] as string[])) {
    if (!/^virtiofsd-.*\.pid$/.test(entry)) continue;
    await killRecordedProcess(join(runtime, entry));
    await rm(join(runtime, entry), { force: true });
  }
  if (existsSync(runtime)) await unmountBelow(runtime);
}
