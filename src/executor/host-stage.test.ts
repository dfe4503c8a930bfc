import { describe, expect, it } from 'vitest';
import { hostStageMounts, hostStageSetupScript, type HostStageView, type SourceKind } from './host-stage.js';

const mounts = (visible: HostStageView['visible'], hidden: string[], kinds: Record<string, SourceKind> = {}): ReturnType<typeof hostStageMounts> =>
  hostStageMounts({ visible, hidden, scratchMib: 0 }, '/run/staging', (source) => kinds[source] ?? 'directory', ['/tmp']);
const lines = (m: ReturnType<typeof hostStageMounts>): string[] => m.fstab.trimEnd().split('\n');

describe('hostStageMounts', () => {
  it('binds every visible path aside, covers the hidden directories, then binds the visible ones back, shallowest first', () => {
    const m = mounts(['/w/builds/job', { source: '/w/cache/project-1', target: '/w/cache/group/p' }, '/w/ws/job/home'], ['/w', '/w/builds', '/w/cache']);
    expect(lines(m)).toEqual([
      '/w/builds/job /run/staging/d0 none rbind 0 0',
      '/w/cache/project-1 /run/staging/d1 none rbind 0 0',
      '/w/ws/job/home /run/staging/d2 none rbind 0 0',
      'quarters-stage-private /tmp tmpfs mode=1777,nosuid,nodev,size=64m,X-mount.mkdir 0 0',
      'quarters-stage-private /w tmpfs mode=0755,nosuid,nodev,size=1m,X-mount.mkdir 0 0',
      'quarters-stage-private /w/builds tmpfs mode=0755,nosuid,nodev,size=1m,X-mount.mkdir 0 0',
      'quarters-stage-private /w/cache tmpfs mode=0755,nosuid,nodev,size=1m,X-mount.mkdir 0 0',
      '/run/staging/d0 /w/builds/job none rbind,X-mount.mkdir 0 0',
      '/run/staging/d1 /w/cache/group/p none rbind,X-mount.mkdir 0 0',
      '/run/staging/d2 /w/ws/job/home none rbind,X-mount.mkdir 0 0',
    ]);
    expect(m.asides).toEqual(['/run/staging/d0', '/run/staging/d1', '/run/staging/d2']);
  });

  it('keeps a hidden directory below a visible one hidden, and shows a visible one below another after it', () => {
    const m = lines(mounts(['/srv/mirror/sub', '/srv/mirror'], ['/srv/mirror/work']));
    const at = (text: string): number => m.findIndex((line) => line.includes(text));
    expect(at(' /srv/mirror none')).toBeLessThan(at(' /srv/mirror/sub none'));
    expect(at(' /srv/mirror none')).toBeLessThan(at('quarters-stage-private /srv/mirror/work '));
  });

  it('leaves out what does not exist, and lands a file on a file', () => {
    const m = mounts(['/srv/artifacts', '/etc/quarters/known_hosts'], ['/w'], { '/srv/artifacts': 'missing', '/etc/quarters/known_hosts': 'file' });
    expect(lines(m).filter((line) => line.includes('/srv/artifacts'))).toEqual([]);
    expect(lines(m)).toContain('/run/staging/f0 /etc/quarters/known_hosts none rbind 0 0');
    expect(m.mountPoints).toEqual([{ path: '/run/staging/f0', kind: 'file' }]);
  });

  it('refuses a file in a directory the stage sees empty, which has no file to land on', () => {
    expect(() => mounts(['/w/notes.txt'], ['/w'], { '/w/notes.txt': 'file' })).toThrow('host stage file /w/notes.txt lies in /w, which the stage sees empty');
  });

  it('writes blanks and backslashes in paths as fstab escapes', () => {
    expect(lines(mounts(['/srv/my mirror\\x'], []))[0]).toBe('/srv/my\\040mirror\\134x /run/staging/d0 none rbind 0 0');
  });
});

describe('hostStageSetupScript', () => {
  it('mounts the view with one mount and drops the asides with one umount before bash runs as the user', () => {
    const script = hostStageSetupScript('/run/staging/job.fstab', ['/run/staging/d0', '/run/staging/d1'], { uid: 65534, gid: 65534 }, '/w/builds/job').split('\n');
    expect(script).toEqual([
      "mount -n --fstab '/run/staging/job.fstab' -a || exit 125",
      "umount -l '/run/staging/d0' '/run/staging/d1' || exit 125",
      "cd '/w/builds/job' || exit 125",
      "exec setpriv '--reuid' '65534' '--regid' '65534' '--clear-groups' '--no-new-privs' '--pdeathsig' 'KILL' '--' bash /proc/self/fd/3",
    ]);
  });
});
