/**
 * The host ids a guest's user namespace spans: guest uid and gid N are host id `base + N`, for N
 * below GUEST_ID_COUNT. One fixed range for every guest of the executor, so the base OS needs one
 * shifted copy (baseos/shift.ts), not one per job. The range must be nobody else's on the host: a
 * host user or group inside it would own what the guest's users write, and the other way round.
 */
import { readFileSync } from 'node:fs';
import type { ExecutorConfig } from './config.js';
import { SystemFailure } from './failure.js';
import type { HostUser } from './host-user.js';

/** Host ids a user namespace spans: the guest's 0..65535. */
export const GUEST_ID_COUNT = 65536;

/** The first host id of the guests' user namespace, or null when guests run without one. */
export function guestIdBase(config: ExecutorConfig): number | null {
  return config.isolation.user_namespace ? config.isolation.id_base : null;
}

/** Files that name host ids: users, groups, and the ranges handed out for other user namespaces. */
const ID_FILES = { passwd: '/etc/passwd', group: '/etc/group', subuid: '/etc/subuid', subgid: '/etc/subgid' };

/** Whether host id `id` is one of the guests'. */
export function isGuestId(id: number, base: number): boolean {
  return id >= base && id < base + GUEST_ID_COUNT;
}

/**
 * Checks that [base, base + 65536) is free on this host and that the host user, whose files the guest
 * shares with their host ids, is inside the guest's 0..65535; throws SystemFailure naming the key to change.
 */
export function checkGuestIds(base: number, hostUser: HostUser | null, files: Partial<typeof ID_FILES> = ID_FILES): void {
  const end = base + GUEST_ID_COUNT - 1;
  const range = `isolation.id_base = ${base} (host ids ${base}-${end})`;
  for (const [kind, file] of Object.entries({ ...ID_FILES, ...files })) {
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n')) {
      const fields = line.split(':');
      if (kind === 'passwd' || kind === 'group') {
        const id = Number(fields[2]);
        if (fields.length > 2 && Number.isInteger(id) && isGuestId(id, base)) throw new SystemFailure(`${range} overlaps ${kind === 'passwd' ? 'user' : 'group'} "${fields[0]}" (${id}) in ${file}: choose another multiple of ${GUEST_ID_COUNT}`);
      } else if (fields.length === 3) {
        const start = Number(fields[1]);
        const count = Number(fields[2]);
        if (Number.isInteger(start) && count > 0 && start <= end && start + count - 1 >= base) throw new SystemFailure(`${range} overlaps the ids ${start}-${start + count - 1} that ${file} gives "${fields[0]}": choose another multiple of ${GUEST_ID_COUNT}`);
      }
    }
  }
  if (hostUser && (hostUser.uid >= GUEST_ID_COUNT || hostUser.gid >= GUEST_ID_COUNT)) {
    throw new SystemFailure(`host_user ${hostUser.uid}:${hostUser.gid} is beyond the guest's ids 0-${GUEST_ID_COUNT - 1}: the guest could not share the project directory with it (use a host_user below ${GUEST_ID_COUNT}, or isolation.user_namespace = false)`);
  }
}
