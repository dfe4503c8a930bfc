import { describe, expect, it } from 'vitest';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeEnd, runLeanProcess, runProcess, startProcess } from './child-process.js';

describe('runProcess', () => {
  it('reports the exit status and captures stdout, stderr and both in order', async () => {
    const result = await runProcess('/bin/sh', ['-c', 'echo one; echo two >&2; echo three; exit 3'], { capture: true });
    expect(result).toMatchObject({ exitCode: 3, signal: null, canceled: false, startError: null, stdout: 'one\nthree\n', stderr: 'two\n' });
    expect(result.output.split('\n').filter(Boolean).sort()).toEqual(['one', 'three', 'two']);
    expect(describeEnd(result)).toBe('exited with status 3');
  });

  it('with capture "stderr", keeps stderr and leaves stdout to the caller as bytes', async () => {
    const { child, result } = startProcess('/bin/sh', ['-c', 'printf "\\377out"; echo err >&2; exit 1'], { capture: 'stderr' });
    const chunks: Buffer[] = [];
    child.stdout!.on('data', (chunk: Buffer) => chunks.push(chunk));
    const ended = await result;
    expect(Buffer.concat(chunks)).toEqual(Buffer.from([0xff, ...Buffer.from('out')]));
    expect(ended).toMatchObject({ exitCode: 1, stdout: '', stderr: 'err\n' });
  });

  it('gives the child exactly the environment it is given', async () => {
    const result = await runProcess('/usr/bin/env', [], { env: { ONLY: 'this' }, capture: true });
    expect(result.stdout).toBe('ONLY=this\n');
  });

  it('tells a program that cannot be started from one that failed', async () => {
    const result = await runProcess('/nonexistent/program', []);
    expect(result.exitCode).toBeNull();
    expect(result.startError?.message).toMatch(/ENOENT/);
    expect(describeEnd(result)).toMatch(/^could not be started: .*ENOENT/);
  });

  it('cancels with the kill signal', async () => {
    const controller = new AbortController();
    const pending = runProcess('/bin/sleep', ['30'], { signal: controller.signal, killSignal: 'SIGTERM' });
    setTimeout(() => controller.abort(), 50);
    const result = await pending;
    expect(result).toMatchObject({ canceled: true, signal: 'SIGTERM', exitCode: null });
  });

  it('kills with SIGKILL a child that ignores the kill signal', async () => {
    const controller = new AbortController();
    const started = Date.now();
    const pending = runProcess('/bin/sh', ['-c', 'trap "" TERM; echo ready; while :; do sleep 0.05; done'], { signal: controller.signal, killSignal: 'SIGTERM', forceKillAfterMs: 300, stdout: 'pipe', capture: true });
    setTimeout(() => controller.abort(), 100);
    const result = await pending;
    expect(result).toMatchObject({ canceled: true, signal: 'SIGKILL' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(400);
  });

  it('cancels at once when the signal has already fired', async () => {
    const result = await runProcess('/bin/sleep', ['30'], { signal: AbortSignal.abort(), killSignal: 'SIGKILL' });
    expect(result).toMatchObject({ canceled: true, signal: 'SIGKILL' });
  });
});

describe('runLeanProcess', () => {
  /** Runs with a file as the child's descriptor 3 (its stdout and stderr are ours), and what the child wrote there. */
  const withOutput = async (run: (fd: number) => ReturnType<typeof runLeanProcess>): Promise<[Awaited<ReturnType<typeof runLeanProcess>>, string]> => {
    const dir = mkdtempSync(join(tmpdir(), 'quarters-lean-process-'));
    const fd = openSync(join(dir, 'out'), 'w');
    try {
      const result = await run(fd);
      return [result, readFileSync(join(dir, 'out'), 'utf8')];
    } finally {
      closeSync(fd);
      rmSync(dir, { recursive: true, force: true });
    }
  };

  it('gives the child exactly its environment, its working directory and the extra descriptors in order, and reports its exit status', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'quarters-lean-process-'));
    writeFileSync(join(dir, 'input'), 'from fd 4\n');
    const input = openSync(join(dir, 'input'), 'r');
    try {
      const [result, output] = await withOutput((fd) => runLeanProcess('/bin/sh', ['-c', '{ env; pwd; cat <&4; } >&3; exit 5'], { env: { ONLY: 'this' }, cwd: dir, extraFds: [fd, input] }));
      expect(result).toMatchObject({ exitCode: 5, signal: null, canceled: false, startError: null });
      expect(output.split('\n').filter((line) => line !== 'PWD=' + dir && line !== 'SHLVL=1' && line !== '_=/usr/bin/env')).toEqual(['ONLY=this', dir, 'from fd 4', '']);
    } finally {
      closeSync(input);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('tells a program that cannot be started from one that failed', async () => {
    const result = await runLeanProcess('/nonexistent/program', []);
    expect(result).toMatchObject({ exitCode: null, signal: null });
    expect(describeEnd(result)).toBe('could not be started: spawn /nonexistent/program ENOENT');
  });

  it('cancels with the kill signal, and with SIGKILL a child that ignores it', async () => {
    const controller = new AbortController();
    const pending = runLeanProcess('/bin/sleep', ['30'], { signal: controller.signal, killSignal: 'SIGTERM' });
    setTimeout(() => controller.abort(), 50);
    expect(await pending).toMatchObject({ canceled: true, signal: 'SIGTERM', exitCode: null });

    const stubborn = new AbortController();
    const started = Date.now();
    const [result] = await withOutput((fd) => {
      const run = runLeanProcess('/bin/sh', ['-c', 'trap "" TERM; echo ready >&3; while :; do sleep 0.05; done'], { signal: stubborn.signal, killSignal: 'SIGTERM', forceKillAfterMs: 300, extraFds: [fd] });
      setTimeout(() => stubborn.abort(), 100);
      return run;
    });
    expect(result).toMatchObject({ canceled: true, signal: 'SIGKILL' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(400);
  });

  it('cancels at once when the signal has already fired', async () => {
    expect(await runLeanProcess('/bin/sleep', ['30'], { signal: AbortSignal.abort(), killSignal: 'SIGKILL' })).toMatchObject({ canceled: true, signal: 'SIGKILL' });
  });
});
