import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatDuration, LOG_TAIL_LINES, plainProgress, terminalProgress } from './progress.js';

describe('local build progress', () => {
  it('formats durations as m:ss or h:mm:ss', () => {
    expect([0, 9.9, 65, 3723].map(formatDuration)).toEqual(['0:00', '0:09', '1:05', '1:02:03']);
  });

  it('prints plain lines: waves, starts, results with elapsed time, a failure with its log tail and path, skips with the reason', () => {
    let clock = 1_000_000;
    let out = '';
    const progress = plainProgress((text) => (out += text), () => clock);
    const log = join(mkdtempSync(join(tmpdir(), 'quarters-progress-')), 'qb.log');
    writeFileSync(log, `${Array.from({ length: 40 }, (_, i) => `line ${i + 1}`).join('\n')}\n`);
    progress.planned({ namespace: 'chain', iteration: 2, arch: 'x86_64', waves: [['qa'], ['qb', 'qx']], carried: ['qx'] });
    progress.started({ pkgbase: 'qa', wave: 1 });
    clock += 75_000;
    progress.finished({ pkgbase: 'qa', wave: 1, state: 'built', reason: null, seconds: 75, logPath: '/l/qa.log', packages: ['qa-1-1-any.pkg.tar.zst'] });
    progress.finished({ pkgbase: 'qb', wave: 2, state: 'failed', reason: 'quarters-build build exited with 2', seconds: 3, logPath: log, packages: [] });
    progress.skipped('qc', 'dependency qb/x86_64 failed: quarters-build build exited with 2');
    const lines = out.split('\n');
    expect(lines.slice(0, 4)).toEqual(['build set chain, iteration 2, x86_64: 2 waves', '  wave 1: qa', '  wave 2: qb qx', '  unchanged since the last iteration, not rebuilt: qx']);
    expect(lines).toContain('[0:00] wave 1: building qa');
    expect(lines).toContain('[1:15] wave 1: built qa in 1:15: qa-1-1-any.pkg.tar.zst');
    expect(lines).toContain('[1:15] wave 2: FAILED qb in 0:03: quarters-build build exited with 2');
    const tail = lines.filter((l) => /^ {2}line \d+$/.test(l));
    expect(tail).toHaveLength(LOG_TAIL_LINES);
    expect(tail.at(-1)).toBe('  line 40');
    expect(lines).toContain(`full log: ${log}`);
    expect(lines).toContain('[1:15] skipped qc: dependency qb/x86_64 failed: quarters-build build exited with 2');
  });

  it('keeps a status line on a terminal: running builds with their wave and time, counts, total elapsed', () => {
    let clock = 0;
    let out = '';
    const progress = terminalProgress((text) => (out += text), () => 3, () => clock);
    progress.started({ pkgbase: 'qa', wave: 1 });
    clock = 62_000;
    progress.note('hello');
    progress.close();
    // The status line is cleared before each event and drawn again after it.
    expect(out).toContain('\r\x1b[Khello\n[1:02] wave 1/3 · 0 built · 0 failed · building qa (wave 1, 1:02)');
    expect(out.endsWith('\r\x1b[K')).toBe(true);
  });
});
