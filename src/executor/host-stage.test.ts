import { describe, expect, it } from 'vitest';
import { hostStageMounts, sandboxArgs, type HostStageView, type SourceKind } from './host-stage.js';

const mounts = (visible: HostStageView['visible'], hidden: string[], kinds: Record<string, SourceKind> = {}): ReturnType<typeof hostStageMounts> =>
  hostStageMounts({ visible, hidden, scratchMib: 0 }, '/run/staging', (source) => kinds[source] ?? 'directory', ['/tmp']);
/** The steps as the words the sandbox program reads, one step a line. */
const lines = (m: ReturnType<typeof hostStageMounts>): string[] => m.steps.map((step) => {
  if (step.kind === 'bind') return `${step.mkdir ? 'bind-mkdir' : 'bind'} ${step.source} ${step.target}`;
  if (step.kind === 'tmpfs') return `tmpfs ${step.target} ${step.mode} ${step.mib}`;
  return `detach ${step.target}`;
});

describe('hostStageMounts', () => {
  it('binds every visible path aside, covers the hidden directories, binds the visible ones back, shallowest first, and drops the asides', () => {
    const m = mounts(['/w/builds/job', { source: '/w/cache/project-1', target: '/w/cache/group/p' }, '/w/ws/job/home'], ['/w', '/w/builds', '/w/cache']);
    expect(lines(m)).toEqual([
      'bind /w/builds/job /run/staging/d0',
      'bind /w/cache/project-1 /run/staging/d1',
      'bind /w/ws/job/home /run/staging/d2',
      'tmpfs /tmp 1777 64',
      'tmpfs /w 0755 1',
      'tmpfs /w/builds 0755 1',
      'tmpfs /w/cache 0755 1',
      'bind-mkdir /run/staging/d0 /w/builds/job',
      'bind-mkdir /run/staging/d1 /w/cache/group/p',
      'bind-mkdir /run/staging/d2 /w/ws/job/home',
      'detach /run/staging/d0',
      'detach /run/staging/d1',
      'detach /run/staging/d2',
    ]);
    expect(m.mountPoints.map((point) => point.path)).toEqual(['/run/staging/d0', '/run/staging/d1', '/run/staging/d2']);
  });

  it('keeps a hidden directory below a visible one hidden, and shows a visible one below another after it', () => {
    const m = lines(mounts(['/srv/mirror/sub', '/srv/mirror'], ['/srv/mirror/work']));
    const at = (text: string): number => m.findIndex((line) => line.endsWith(text));
    expect(at(' /srv/mirror')).toBeLessThan(at(' /srv/mirror/sub'));
    expect(at(' /srv/mirror')).toBeLessThan(m.indexOf('tmpfs /srv/mirror/work 0755 1'));
  });

  it('leaves out what does not exist, and lands a file on a file', () => {
    const m = mounts(['/srv/artifacts', '/etc/quarters/known_hosts'], ['/w'], { '/srv/artifacts': 'missing', '/etc/quarters/known_hosts': 'file' });
    expect(lines(m).filter((line) => line.includes('/srv/artifacts'))).toEqual([]);
    expect(lines(m)).toContain('bind /run/staging/f0 /etc/quarters/known_hosts');
    expect(m.mountPoints).toEqual([{ path: '/run/staging/f0', kind: 'file' }]);
  });

  it('refuses a file in a directory the stage sees empty, which has no file to land on', () => {
    expect(() => mounts(['/w/notes.txt'], ['/w'], { '/w/notes.txt': 'file' })).toThrow('host stage file /w/notes.txt lies in /w, which the stage sees empty');
  });

});

describe('sandboxArgs', () => {
  it('joins the cgroups, assembles the view, then runs bash on the script\'s descriptor as the user', () => {
    const m = mounts(['/w/my builds/job'], ['/w']);
    expect(sandboxArgs(m, ['/sys/fs/cgroup/q/cgroup.procs'], { uid: 65534, gid: 65533 }, '/w/my builds/job')).toEqual([
      'cgroup', '/sys/fs/cgroup/q/cgroup.procs',
      'bind', '/w/my builds/job', '/run/staging/d0',
      'tmpfs', '/tmp', '1777', '64',
      'tmpfs', '/w', '0755', '1',
      'bind-mkdir', '/run/staging/d0', '/w/my builds/job',
      'detach', '/run/staging/d0',
      'cwd', '/w/my builds/job',
      'user', '65534', '65533',
      'fd', '3',
      '--', 'bash', '/proc/self/fd/3',
    ]);
  });
});
