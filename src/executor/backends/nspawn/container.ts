/**
 * One command in a throw-away systemd-nspawn container over a layered overlay.
 *
 * The overlay is mounted inside a private mount namespace (`unshare --mount`) that lives exactly
 * as long as the container: when nspawn exits, or is killed, the kernel drops the mount with the
 * namespace, so no code path (SIGTERM, SIGKILL of the executor, a crash) can leave a mount behind.
 * nspawn runs as PID 1 of its own PID namespace (`unshare --pid --fork`): when it dies, for any
 * reason, the kernel kills every process of the container with it (nspawn alone would leave the
 * container's init running). unshare gets SIGKILL when the caller dies (`setpriv --pdeathsig`) and
 * passes it on to nspawn (`--kill-child`), so no process outlives the caller either.
 *
 * Where systemd is PID 1, nspawn registers the machine with machined, which needs nspawn's pid as
 * the host sees it: there is no PID namespace of ours around it. The container then lives in its
 * own scope; it is stopped with SIGTERM to nspawn, and `terminateMachine` stops one whose nspawn
 * was killed.
 */
import { constants, existsSync } from 'node:fs';
import { chown, mkdir, open, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { runProcess, startProcess } from '../../../common/child-process.js';
import { GUEST_ID_COUNT } from '../../guest-ids.js';
import { createRunCgroup, type RunCgroup } from '../../run-cgroup.js';
import { openOutboundNetwork, OUTBOUND_RESOLV_CONF, type OutboundNetwork } from './outbound-network.js';

/** A host path offered inside the container. */
export interface Bind {
  host: string;
  guest: string;
  readOnly?: boolean;
  /**
   * In a user namespace: the guest sees and writes the host's ids here (an idmapped bind, host uid N
   * is guest uid N), for directories host users share with the guest. Read-only binds always do; a
   * writable bind without it shows the host's files as nobody's, so it should be the guest's own.
   */
  hostIds?: boolean;
}

export interface OverlayLayers {
  /** Read-only layers, uppermost first (e.g. instance upper dir, then base OS root). */
  lowers: readonly string[];
  /** The writable layer and overlayfs' work dir (same filesystem, both existing). */
  upper: string;
  work: string;
  /** An existing empty directory where the merged tree is mounted (only inside the private namespace). */
  root: string;
}

export interface ContainerCommand extends OverlayLayers {
  /** The machine name: unique among containers running at the same time on this host. */
  machine: string;
  /** The command and its arguments, run inside the container. */
  command: readonly string[];
  /** Working directory inside the container. */
  cwd?: string;
  /** The container's whole environment besides what nspawn sets (container=, HOME for --user...). */
  env?: Readonly<Record<string, string>>;
  binds?: readonly Bind[];
  /**
   * true: share the host's network; 'outbound': a network namespace of its own with only outbound access
   * (outbound-network.ts); otherwise a private network namespace with loopback only.
   */
  network?: boolean | 'outbound';
  /** Destinations an 'outbound' network rejects besides the host's own addresses: addresses, CIDRs, host names. */
  blockedDestinations?: readonly string[];
  /** The network namespace of an 'outbound' network (set by runContainer). */
  networkNamespace?: string;
  /**
   * Run in a user namespace whose ids 0..65535 are host ids idBase.. (the layers must be owned that
   * way: baseos/shift.ts); absent or null: the guest's ids are the host's.
   */
  idBase?: number | null;
  /** A user inside the container (must exist in its /etc/passwd); root by default. */
  user?: string;
  /** Memory (MiB), CPU and process-count limits, 0 for none: unit properties where systemd runs, a cgroup of our own elsewhere. */
  limits?: { memoryMib: number; cpus: number; pids?: number };
  /** Size of the guest's RAM-backed /tmp and /dev/shm, in MiB each (0 or absent: nspawn's default, a share of the host's RAM). */
  tmpfsMib?: number;
  /** Measure peak memory (in a cgroup of our own, where systemd does not run). */
  measure?: boolean;
  /** Where notes about limits and measurements go (e.g. no cgroup available). */
  log?: (line: string) => void;
  /** Skip syncs in the writable layer; for throw-away workspaces only. */
  volatile?: boolean;
  stdin?: Readable | 'ignore' | 'inherit';
  stdout?: Writable | 'inherit' | 'ignore';
  stderr?: Writable | 'inherit' | 'ignore';
  /** Aborting stops the container at once (SIGKILL to all of it: builds are thrown away anyway). */
  signal?: AbortSignal;
  /** Called with nspawn's pid once it has started. */
  onSpawn?: (pid: number) => void;
}

export interface ContainerResult {
  /** The command's exit status inside the container; null when it never ran or did not finish (a system failure). */
  exitCode: number | null;
  /** What nspawn itself reported: its exit code, or the signal that ended it. */
  nspawnExitCode: number | null;
  nspawnSignal: string | null;
  /** nspawn's stderr tail when it failed before the command finished (for the error message). */
  detail: string;
  /** Peak memory of the whole container, in bytes; null when not measured. */
  peakMemoryBytes: number | null;
}

/** Where the guest writes its command's exit status (a private bind mount). */
const GUEST_STATUS_DIR = '/run/quarters-status';

/** True when systemd is PID 1 here: then nspawn registers with machined and may apply unit properties. */
export function hostHasSystemd(): boolean {
  return existsSync('/run/systemd/system');
}

/** The overlayfs mount options for these layers; rejects paths overlayfs cannot express. */
export function overlayOptions(layers: OverlayLayers, volatile = false): string {
  for (const path of [...layers.lowers, layers.upper, layers.work]) {
    if (/[,:\\\n]/.test(path)) throw new Error(`overlay layer path ${JSON.stringify(path)} contains a character overlayfs cannot take (",", ":", "\\")`);
  }
  if (layers.lowers.length === 0) throw new Error('an overlay needs at least one lower layer');
  const options = [`lowerdir=${layers.lowers.join(':')}`, `upperdir=${layers.upper}`, `workdir=${layers.work}`];
  if (volatile) options.push('volatile');
  return options.join(',');
}

/** The systemd-nspawn arguments for one command (without the program name). */
export function nspawnArguments(spec: ContainerCommand, statusDir: string, systemd = hostHasSystemd()): string[] {
  if (!/^[A-Za-z0-9][A-Za-z0-9-]{0,63}$/.test(spec.machine)) throw new Error(`machine name ${JSON.stringify(spec.machine)} must be 1-64 letters, digits or "-"`);
  const args = ['--quiet', '--as-pid2', '--pipe', `--machine=${spec.machine}`, `--directory=${spec.root}`, '--kill-signal=SIGKILL', '--link-journal=no', '--timezone=off'];
  if (systemd) {
    if (spec.limits?.memoryMib) args.push(`--property=MemoryMax=${spec.limits.memoryMib}M`);
    if (spec.limits?.cpus) args.push(`--property=CPUQuota=${Math.round(spec.limits.cpus * 100)}%`);
    if (spec.limits?.pids) args.push(`--property=TasksMax=${spec.limits.pids}`);
  } else {
    // Without systemd as PID 1 there is no machined to register with and no unit to create.
    args.push('--register=no', '--keep-unit');
  }
  if (spec.idBase) {
    // The layers are owned by the guest's ids already: nspawn must neither chown nor idmap the root.
    args.push(`--private-users=${spec.idBase}:${GUEST_ID_COUNT}`, '--private-users-ownership=off');
  }
  if (spec.network === 'outbound') {
    if (!spec.networkNamespace) throw new Error('an outbound network needs its namespace');
    // The namespace and its nftables table are the executor's; guest root must not change them.
    // In a user namespace it cannot: the network namespace belongs to the host's user namespace, so the
    // guest's CAP_NET_ADMIN reaches only namespaces it makes itself (the driver's offline build network
    // needs that). nspawn (252) would join the namespace after making the user namespace, which has no
    // right to: nspawn starts in it instead (runInContainer) and shares it with the container.
    // Without a user namespace guest root is the host's, and CAP_NET_ADMIN leaves its bounding set
    // (nspawn 252 drops it here by itself, but only keeps it with --private-network: said explicitly).
    if (spec.idBase) args.push('--resolv-conf=off');
    else args.push('--network-namespace-path=/proc/self/fd/3', '--resolv-conf=off', '--drop-capability=CAP_NET_ADMIN');
  } else if (spec.network) args.push('--resolv-conf=copy-host');
  else args.push('--private-network', '--resolv-conf=off');
  if (spec.tmpfsMib) {
    // RAM the guest fills there is the host's, outside limits.disk_mib: bounded here.
    for (const path of ['/tmp', '/dev/shm']) args.push(`--tmpfs=${path}:mode=1777,nosuid,nodev,size=${spec.tmpfsMib}m`);
  }
  if (spec.user) args.push(`--user=${spec.user}`);
  if (spec.cwd) args.push(`--chdir=${spec.cwd}`);
  for (const [key, value] of Object.entries(spec.env ?? {})) args.push(`--setenv=${key}=${value}`);
  for (const bind of spec.binds ?? []) {
    // Read-only binds are locked read-only in the user namespace: showing the host's ids there lets the guest read what root may, and write nothing.
    const idmap = spec.idBase && (bind.readOnly || bind.hostIds) ? ':idmap' : '';
    args.push(`${bind.readOnly ? '--bind-ro' : '--bind'}=${escapeBindPath(bind.host)}:${escapeBindPath(bind.guest)}${idmap}`);
  }
  args.push(`--bind=${escapeBindPath(statusDir)}:${GUEST_STATUS_DIR}`);
  // The guest records the command's status, so that a failing command is told apart from a container that never ran it.
  args.push('--', '/bin/sh', '-c', `"$@"; s=$?; echo "$s" > ${GUEST_STATUS_DIR}/exit; exit "$s"`, 'quarters-run', ...spec.command);
  return args;
}

/** nspawn splits --bind on ":"; a literal colon is written "\:". */
function escapeBindPath(path: string): string {
  return path.replace(/\\/g, '\\\\').replace(/:/g, '\\:');
}

// Runs in the private mount namespace: mount the overlay, give nspawn a private tmpfs for its per-machine
// state under /run (it will not clean that up where /run is a disk), then become nspawn (same pid, same pdeathsig).
const MOUNT_THEN_EXEC = [
  'mount -t overlay "$1" -o "$2" "$3" || exit 125',
  'mkdir -p /run/systemd/nspawn && mount -t tmpfs -o mode=0755,size=4m quarters-nspawn-run /run/systemd/nspawn || exit 125',
  'shift 3',
  'exec "$@"',
].join('\n');

/** Runs one command in a container on the given layers; resolves when the container is gone. */
export async function runContainer(spec: ContainerCommand): Promise<ContainerResult> {
  const statusDir = `${spec.upper}.status`;
  await rm(statusDir, { recursive: true, force: true });
  await mkdir(statusDir, { mode: 0o700 });
  // The guest's root writes the status there: in a user namespace it owns the directory as its own id, not as host root.
  if (spec.idBase) await chown(statusDir, spec.idBase, spec.idBase);
  // A volatile overlay marks its work dir so that a second mount notices the missed syncs; we accept them by design.
  if (spec.volatile) await rm(join(spec.work, 'work', 'incompat', 'volatile'), { recursive: true, force: true });
  const systemd = hostHasSystemd();
  let network: OutboundNetwork | null = null;
  if (spec.network === 'outbound') {
    try {
      network = await openOutboundNetwork(spec.blockedDestinations);
    } catch (error) {
      await rm(statusDir, { recursive: true, force: true });
      return { exitCode: null, nspawnExitCode: null, nspawnSignal: null, detail: `no outbound network for the container: ${(error as Error).message}`, peakMemoryBytes: null };
    }
    // Beside the writable layer, not in it: the guest sees it read-only.
    const resolvConf = `${spec.upper}.resolv.conf`;
    await writeFile(resolvConf, OUTBOUND_RESOLV_CONF, { mode: 0o644 });
    spec = { ...spec, networkNamespace: network.path, binds: [...(spec.binds ?? []), { host: resolvConf, guest: '/etc/resolv.conf', readOnly: true }] };
  }
  try {
    return await runInContainer(spec, statusDir, systemd);
  } finally {
    network?.close();
  }
}

async function runInContainer(spec: ContainerCommand, statusDir: string, systemd: boolean): Promise<ContainerResult> {
  const limits = spec.limits ?? { memoryMib: 0, cpus: 0 };
  const cgroup: RunCgroup | null = !systemd && (spec.measure || limits.memoryMib > 0 || limits.cpus > 0 || (limits.pids ?? 0) > 0) ? await createRunCgroup(spec.machine, limits, spec.log) : null;
  const argv = [
    'setpriv', '--pdeathsig', 'KILL', '--',
    'unshare', '--mount', '--propagation', 'private', ...(systemd ? [] : ['--pid', '--fork', '--kill-child=SIGKILL', '--mount-proc']), '--',
    '/bin/sh', '-c', MOUNT_THEN_EXEC, 'quarters-mount', `quarters-${spec.machine}`, overlayOptions(spec, spec.volatile), spec.root,
    ...(spec.idBase && spec.networkNamespace ? ['nsenter', '--net=/proc/self/fd/3', '--'] : []),
    'systemd-nspawn', ...nspawnArguments(spec, statusDir, systemd),
  ];
  // The first process joins the cgroup before anything else starts, so every process of the run is counted and limited.
  const enter = (cgroup?.procsFiles ?? []).map((file) => `echo $$ > '${file.replace(/'/g, "'\\''")}' || exit 124`);
  // nspawn runs in a PID namespace of ours, where the holder's /proc entry is not: it gets the namespace as fd 3.
  if (spec.networkNamespace) enter.push(`exec 3< '${spec.networkNamespace.replace(/'/g, "'\\''")}' || exit 124`);
  const stderrTail: string[] = [];
  const { child, result: ended } = startProcess('/bin/sh', ['-c', [...enter, 'exec "$@"'].join('\n'), 'quarters-container', ...argv], {
    stdin: typeof spec.stdin === 'object' ? 'pipe' : (spec.stdin ?? 'ignore'),
    stdout: typeof spec.stdout === 'object' ? 'pipe' : (spec.stdout ?? 'inherit'),
    stderr: 'pipe',
    env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', SYSTEMD_LOG_LEVEL: 'warning' },
    signal: spec.signal,
    // Without systemd: unshare ignores SIGTERM while it waits; SIGKILL reaches nspawn through --kill-child,
    // and the container through the PID namespace. With systemd: the child is nspawn itself, which on
    // SIGTERM kills its container (--kill-signal=SIGKILL) and exits.
    killSignal: systemd ? 'SIGTERM' : 'SIGKILL',
    forceKillAfterMs: 5000,
  });
  if (child.pid !== undefined) spec.onSpawn?.(child.pid);
  if (typeof spec.stdin === 'object' && child.stdin) spec.stdin.pipe(child.stdin);
  if (typeof spec.stdout === 'object' && child.stdout) child.stdout.pipe(spec.stdout, { end: false });
  child.stderr?.on('data', (chunk: Buffer) => {
    const target = spec.stderr ?? 'inherit';
    if (target === 'inherit') process.stderr.write(chunk);
    else if (target !== 'ignore') target.write(chunk);
    stderrTail.push(chunk.toString('utf8'));
    if (stderrTail.length > 20) stderrTail.shift();
  });
  const result = await ended;
  const exitCode = await readGuestStatus(join(statusDir, 'exit'));
  await rm(statusDir, { recursive: true, force: true });
  const peakMemoryBytes = cgroup ? await cgroup.peakMemoryBytes() : null;
  await cgroup?.remove();
  return {
    exitCode: result.canceled ? null : exitCode,
    nspawnExitCode: result.exitCode,
    nspawnSignal: result.signal,
    detail: result.startError ? `cannot start the container: ${result.startError.message}` : stderrTail.join('').split('\n').filter(Boolean).slice(-5).join('\n'),
    peakMemoryBytes,
  };
}

/**
 * The exit status the guest wrote; null when there is none. The guest owns the status directory, so
 * the file may be anything it put there instead: a FIFO (which would block a plain read), a symlink
 * to a host file or to /dev/zero. Only a regular file is read, and only its first bytes.
 */
export async function readGuestStatus(path: string): Promise<number | null> {
  let handle;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch {
    return null;
  }
  try {
    if (!(await handle.stat()).isFile()) return null;
    const buffer = Buffer.alloc(16);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    const text = buffer.subarray(0, bytesRead).toString('latin1').trim();
    return /^\d{1,3}$/.test(text) ? Number(text) : null;
  } finally {
    await handle.close();
  }
}

/** Stops a registered machine whose nspawn died (systemd hosts only; elsewhere the PID namespace took it down). */
export async function terminateMachine(machine: string): Promise<void> {
  // systemd-machined keeps a file per registered machine: without one there is nothing to terminate, and no machinectl to start (every cleanup).
  if (!hostHasSystemd() || !existsSync(`/run/systemd/machines/${machine}`)) return;
  await runProcess('machinectl', ['terminate', machine]);
}
