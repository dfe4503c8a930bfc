/**
 * A network namespace with only outbound access, for guest commands that get the network (the fetch
 * step runs recipe code): slirp4netns connects it to the outside through user-mode NAT, with
 * `--disable-host-loopback`, so the host's 127.0.0.1 (and anything listening only there: a database,
 * an agent, the runner's own services) is out of reach, and the guest has no interface of the host's.
 *
 * slirp4netns opens the guest's connections from the host, so a service on any other address of the
 * host (its LAN address, 0.0.0.0) would answer them. Before slirp4netns starts, an nftables table in
 * the namespace rejects outbound traffic to every address of the host, to the destinations the
 * caller names (the quarters server, `network.blocked_networks`). The namespace is
 * the executor's (created by root in the init user namespace) and the guest runs without
 * CAP_NET_ADMIN (container.ts), so guest root cannot change the table.
 *
 * The namespace is held by a `sleep` of its own; both processes die with the executor (pdeathsig).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readlinkSync } from 'node:fs';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
import { startProcess, whyFailed } from '../../../common/child-process.js';

/** slirp4netns' fixed addresses: the guest is 10.0.2.100, its DNS forwarder 10.0.2.3. */
export const OUTBOUND_NAMESERVER = '10.0.2.3';
export const OUTBOUND_RESOLV_CONF = `nameserver ${OUTBOUND_NAMESERVER}\n`;

export interface OutboundNetwork {
  /** The namespace, for `systemd-nspawn --network-namespace-path=`. */
  path: string;
  /** Ends slirp4netns and the namespace. */
  close(): void;
}

/**
 * Every address of this host's interfaces but loopback, as single-address prefixes. Loopback needs
 * no rule: the guest's 127.0.0.1 is the namespace's own, and slirp4netns' way to the host's
 * (10.0.2.2) is off.
 */
export function hostAddresses(): string[] {
  const addresses = Object.values(networkInterfaces()).flatMap((list) => list ?? []).filter((a) => !a.internal);
  return [...new Set(addresses.map((a) => `${a.address}/${a.family === 'IPv6' ? 128 : 32}`))];
}

/** A destination to block as a prefix: an address or a CIDR as it is, a host name resolved (every address); throws naming what does not resolve. */
export async function resolveDestination(entry: string): Promise<string[]> {
  const [address, prefix] = entry.split('/');
  if (isIP(address!)) return [prefix === undefined ? `${address}/${isIP(address!) === 6 ? 128 : 32}` : entry];
  let found;
  try {
    found = await lookup(entry, { all: true });
  } catch (error) {
    throw new Error(`cannot resolve ${entry}, which the outbound network must not reach: ${(error as Error).message}`);
  }
  return found.map((a) => `${a.address}/${a.family === 6 ? 128 : 32}`);
}

/** The nftables table that rejects outbound traffic to these prefixes (loaded into the namespace with `nft -f -`). */
export function blockRuleset(prefixes: readonly string[]): string {
  const rules = [...new Set(prefixes)].map((prefix) => {
    if (!/^[0-9A-Fa-f.:]+\/\d{1,3}$/.test(prefix) || !isIP(prefix.split('/')[0]!)) throw new Error(`${JSON.stringify(prefix)} is not an address prefix`);
    // "No route to host" in the guest: a refusal of ours, told apart from a service that is not there.
    return `    ${isIP(prefix.split('/')[0]!) === 6 ? 'ip6' : 'ip'} daddr ${prefix} reject with icmpx type admin-prohibited`;
  });
  return ['table inet quarters_outbound {', '  chain output {', '    type filter hook output priority filter; policy accept;', ...rules, '  }', '}', ''].join('\n');
}

/** Loads the table into the namespace of process `pid`; throws with nft's message (fail closed: no table, no network). */
async function blockInNamespace(pid: number, prefixes: readonly string[]): Promise<void> {
  const { child, result: ended } = startProcess('nsenter', [`--net=/proc/${pid}/ns/net`, '--', 'nft', '-f', '-'], { stdin: 'pipe', capture: true });
  child.stdin?.on('error', () => undefined).end(blockRuleset(prefixes));
  const result = await ended;
  if (result.exitCode !== 0) throw new Error(`cannot block the host's addresses in the outbound network with nft (install nftables: scripts/install-deps): ${whyFailed(result)}`);
}

/**
 * Starts the namespace, blocks the host's addresses and `blocked` (addresses, CIDRs, host names) in
 * it, then starts slirp4netns; throws with nft's or slirp4netns' own message when it cannot.
 */
export async function openOutboundNetwork(blocked: readonly string[] = []): Promise<OutboundNetwork> {
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
    const prefixes = [...hostAddresses(), ...(await Promise.all(blocked.map(resolveDestination))).flat()];
    await blockInNamespace(pid, prefixes);
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
