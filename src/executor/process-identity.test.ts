import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { identify, isAlive } from './process-identity.js';

describe('process identity', () => {
  it('knows a live process, tells a recycled pid apart, and counts an unreaped zombie as gone', async () => {
    // The inner sleep's parent becomes `sleep 60` (exec), which never reaps it: once killed, it stays a zombie.
    const parent = spawn('sh', ['-c', 'sleep 1000 & echo $!; exec sleep 60'], { stdio: ['ignore', 'pipe', 'ignore'] });
    const pid = Number(await new Promise<string>((resolve) => parent.stdout.once('data', (c: Buffer) => resolve(c.toString()))));
    const id = identify(pid)!;
    expect(isAlive(id)).toBe(true);
    expect(isAlive({ ...id, startTime: '1' })).toBe(false);
    process.kill(pid, 'SIGKILL');
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(isAlive(id)).toBe(false);
    parent.kill('SIGKILL');
  });
});
