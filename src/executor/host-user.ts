/** The unprivileged host user that runs the stages needing git or the gitlab-runner helper. */
import { readFileSync } from 'node:fs';
import { SystemFailure } from './failure.js';

export interface HostUser {
  uid: number;
  gid: number;
}

/** Resolves a user name (from /etc/passwd) or "UID:GID"; root is refused. */
export function resolveHostUser(spec: string, passwdFile = '/etc/passwd'): HostUser {
  let user: HostUser | null = null;
  const numeric = /^(\d+):(\d+)$/.exec(spec);
  if (numeric) {
    user = { uid: Number(numeric[1]), gid: Number(numeric[2]) };
  } else {
    const line = readFileSync(passwdFile, 'utf8').split('\n').find((l) => l.split(':')[0] === spec);
    const fields = line?.split(':');
    if (fields && fields.length >= 4) user = { uid: Number(fields[2]), gid: Number(fields[3]) };
  }
  if (!user) throw new SystemFailure(`host_user "${spec}" is not a user of this host (${passwdFile}) nor "UID:GID"`);
  if (user.uid === 0 || user.gid === 0) throw new SystemFailure(`host_user "${spec}" is root: host stages must run unprivileged`);
  return user;
}
