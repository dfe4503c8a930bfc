import { describe, expect, it } from 'vitest';
import { hostStageSetupScript } from './host-stage.js';

const user = { uid: 65534, gid: 65534 };
const script = (visible: Parameters<typeof hostStageSetupScript>[0]['visible'], hidden: string[]): string[] =>
  hostStageSetupScript({ visible, hidden, scratchMib: 0 }, '/run/staging', user, '/w/builds/job', ['bash', '/w/ws/job/scripts/s.sh']).split('\n');

describe('hostStageSetupScript', () => {
  it('makes the asides with one mkdir and the mount points of a run of visible paths with another', () => {
    const lines = script(['/w/builds/job', '/w/cache/project-1', '/w/ws/job/home', { source: '/w/ws/job/scripts/s.sh', target: '/w/ws/job/scripts/s.sh' }], ['/w', '/w/builds', '/w/cache']);
    expect(lines.filter((line) => line.includes('mkdir --') && !line.includes('-p'))).toEqual(['[ $# -eq 0 ] || mkdir -- "$@"']);
    expect(lines.filter((line) => line.includes('mkdir -p --'))).toHaveLength(1);
    // A hidden directory that exists gets no mkdir process.
    expect(lines).toContain("[ -d '/w/builds' ] || mkdir -p '/w/builds'");
    const moves = lines.filter((line) => line.includes('mount --move'));
    expect(moves).toHaveLength(4);
    expect(lines.indexOf(moves[0]!)).toBeGreaterThan(lines.findIndex((line) => line.includes('mkdir -p --')));
  });

  it('makes a visible path below another visible one after the other is moved in', () => {
    const lines = script(['/srv/mirror', '/srv/mirror/sub'], []);
    const moveOuter = lines.findIndex((line) => line.includes("mount --move '/run/staging/0' '/srv/mirror'"));
    const makeInner = lines.findIndex((line) => line.includes("set -- \"$@\" '/srv/mirror/sub'"));
    const moveInner = lines.findIndex((line) => line.includes("mount --move '/run/staging/1' '/srv/mirror/sub'"));
    expect(moveOuter).toBeGreaterThan(-1);
    expect(makeInner).toBeGreaterThan(moveOuter);
    expect(moveInner).toBeGreaterThan(makeInner);
  });
});
