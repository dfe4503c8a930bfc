import { describe, expect, it } from 'vitest';
import { describeEnd, runProcess, startProcess } from './child-process.js';

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
