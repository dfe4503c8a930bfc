/**
 * A network namespace with only outbound access, for guest commands that get the network (the fetch
 * step runs recipe code): slirp4netns connects it to the outside through user-mode NAT, with
 * `--disable-host-loopback`, so the host's 127.0.0.1 (and anything listening only there: a database,
 * an agent, the runner's own services) is out of reach, and the guest has no interface of the host's.
 * The namespace is held by a `sleep` of its own; both processes die with the executor (pdeathsig).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readlinkSync } from 'node:fs';

/** slirp4netns' fixed addresses: the guest is 10.0.2.100, its DNS forwarder 10.0.2.3. */
export const OUTBOUND_RESOLV_CONF = 'nameserver 10.0.2.3\n';

export interface OutboundNetwork {
  /** The namespace, for `systemd-nspawn --network-namespace-path=`. */
  path: string;
  /** Ends slirp4netns and the namespace. */
  close(): void;
}

/** Starts the namespace and slirp4netns; throws with slirp4netns' own message when it cannot. */
export async function openOutboundNetwork(): Promise<OutboundNetwork> {
  const holder = spawn('setpriv', ['--pdeathsig', 'KILL', '--', 'unshare', '--net', '--', 'sleep', 'infinity'], { stdio: 'ignore' });
  let slirp: ChildProcess | null = null;
  const close = (): void => {
    slirp?.kill('SIGKILL');
    holder.kill('SIGKILL');
  };
  try {
    const pid = holder.pid;
    if (pid === undefined) throw new Error('cannot start a process to hold the network namespace');
    const own = readlinkSync('/proc/self/ns/net');
    // setpriv and unshare exec in place: the pid is the holder's once its namespace is not ours.
    for (let i = 0; ; i++) {
      let namespace = own;
      try {
        namespace = readlinkSync(`/proc/${pid}/ns/net`);
      } catch {
        // not there yet, or gone
      }
      if (namespace !== own) break;
      if (i >= 200 || holder.exitCode !== null) throw new Error('the process holding the network namespace did not start');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const started = spawn('setpriv', ['--pdeathsig', 'KILL', '--', 'slirp4netns', '--configure', '--mtu=65520', '--disable-host-loopback', '--ready-fd=3', String(pid), 'tap0'], { stdio: ['ignore', 'ignore', 'pipe', 'pipe'] });
    slirp = started;
    const stderr: string[] = [];
    started.stderr?.setEncoding('utf8').on('data', (chunk: string) => stderr.push(chunk));
    await new Promise<void>((resolve, reject) => {
      const fail = (why: string): void => reject(new Error(`slirp4netns ${why}${stderr.length ? `: ${stderr.join('').trim().split('\n').slice(-2).join(' ')}` : ''}`));
      started.on('error', (error) => fail(`cannot start (${error.message}; install it: scripts/install-deps)`));
      started.on('exit', (code, signal) => fail(`exited (${signal ?? code}) before the network was up`));
      const ready = started.stdio[3];
      if (ready && 'on' in ready) ready.on('data', () => resolve());
      else fail('gave no readiness pipe');
    });
    started.removeAllListeners('exit');
    return { path: `/proc/${pid}/ns/net`, close };
  } catch (error) {
    close();
    throw error;
  }
}
