import { describe, expect, it } from 'vitest';
import type { BuildState } from '../build-state.js';
import { archProgress, overallState, progressDescription, progressNote, progressState, type ProgressBuild } from './progress.js';

const build = (pkgbase: string, state: BuildState, extra: Partial<ProgressBuild> = {}): ProgressBuild =>
  ({ pkgbase, arch: 'x86_64', pass: 1, state, reason: null, reused: false, pipelineUrl: null, ...extra });

describe('build set progress', () => {
  it('counts the builds of each architecture, not the carried-over built ones', () => {
    const [p] = archProgress([
      build('a', 'built'), build('b', 'built', { reused: true }), build('c', 'building'), build('d', 'dispatched'),
      build('e', 'blocked'), build('f', 'ready'), build('g', 'failed'), build('h', 'dependency-failed'), build('i', 'cancelled'),
    ]);
    expect(p).toEqual({ arch: 'x86_64', rebuilds: 8, built: 1, building: 2, waiting: 2, failed: 1, dependencyFailed: 1, cancelled: 1 });
    expect(progressDescription(p!)).toBe('1/8 built, 1 failed, 1 skipped (failed dependency), 1 cancelled, 2 building, 2 waiting');
  });

  it('is pending until a build starts, running until all settle, then failed, canceled or success', () => {
    const state = (...states: BuildState[]) => progressState(archProgress(states.map((s, i) => build(`p${i}`, s)))[0]!);
    expect(state('ready', 'blocked')).toBe('pending');
    expect(state('dispatched', 'blocked')).toBe('running');
    expect(state('failed', 'blocked')).toBe('running');
    expect(state('built', 'failed', 'dependency-failed')).toBe('failed');
    expect(state('built', 'cancelled')).toBe('canceled');
    expect(state('built', 'built')).toBe('success');
    expect(state('built')).toBe('success');
    const both = archProgress([build('a', 'built', { arch: 'aarch64' }), build('a', 'failed')]);
    expect(both.map((p) => p.arch)).toEqual(['aarch64', 'x86_64']);
    expect(overallState(both)).toBe('failed');
  });

  it('writes the note: counts, failures with their pipelines, and the install snippet of the flavour', () => {
    const builds = [
      build('zlib', 'failed', { reason: 'pipeline 7 failed', pipelineUrl: 'https://gitlab.example/zlib/-/pipelines/7' }),
      build('libpng', 'dependency-failed', { reason: 'dependency zlib/x86_64 failed' }),
      build('cairo', 'built'),
    ];
    const input = { namespace: 'mr-1-2', iteration: 3, pageUrl: 'https://q.example/ui/namespaces/mr-1-2', repositoryUrl: 'https://q.example/repos/mr-1-2/latest', flavour: 'pkgbuild' as const, builds, stopped: false };
    const note = progressNote(input);
    expect(note).toContain('build set [`mr-1-2`](https://q.example/ui/namespaces/mr-1-2) (iteration 3): **failed**');
    expect(note).toContain('| x86_64 | 3 | 1 | 0 | 0 | 1 | 1 |');
    expect(note).toContain('- `zlib/x86_64`: pipeline 7 failed ([pipeline](https://gitlab.example/zlib/-/pipelines/7))');
    expect(note).toContain('Skipped because a dependency failed: `libpng/x86_64`.');
    expect(note).toContain('[quarters]\nSigLevel = Optional TrustAll\nServer = https://q.example/repos/mr-1-2/latest/$arch');
    expect(progressNote({ ...input, flavour: 'autobuild' })).toContain('deb [trusted=yes] https://q.example/repos/mr-1-2/latest/x86_64/ ./');
    // Signed: the key is imported and required.
    const signing = { url: 'https://q.example/signing-key.asc', fingerprint: 'A'.repeat(40) };
    const signed = progressNote({ ...input, signing });
    expect(signed).toContain(`pacman-key --add /tmp/quarters.asc\npacman-key --lsign-key ${'A'.repeat(40)}`);
    expect(signed).toContain('[quarters]\nSigLevel = Required\nServer = https://q.example/repos/mr-1-2/latest/$arch');
    const apt = progressNote({ ...input, flavour: 'autobuild', signing });
    expect(apt).toContain('curl -fsSL https://q.example/signing-key.asc -o /etc/apt/keyrings/quarters.asc');
    expect(apt).toContain('deb [signed-by=/etc/apt/keyrings/quarters.asc] https://q.example/repos/mr-1-2/latest/x86_64/ ./');
    expect(apt).not.toContain('trusted=yes');
    // A reason is shown as text: no table, link or HTML syntax gets through.
    expect(progressNote({ ...input, builds: [build('x', 'failed', { reason: 'a|b\n[x](y) <img>' })] })).toContain('- `x/x86_64`: a b x (y)  img ');
    const many = Array.from({ length: 25 }, (_, i) => build(`p${i}`, 'failed'));
    expect(progressNote({ ...input, builds: many })).toContain('- and 5 more');
  });
});
