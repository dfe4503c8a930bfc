import { describe, expect, it } from 'vitest';
import { Writable } from 'node:stream';
import { createLogger } from './log.js';

function capture() {
  const lines: string[] = [];
  const destination = new Writable({ write(chunk, _enc, done) { lines.push(String(chunk)); done(); } });
  return { lines, destination: destination as unknown as import('pino').DestinationStream };
}

describe('createLogger', () => {
  it('never writes secret values, at the top level or nested, whatever the header spelling', () => {
    const { lines, destination } = capture();
    const log = createLogger({ name: 'test', destination });
    log.info({ token: 'tok-1', headers: { 'x-gitlab-token': 'tok-2', authorization: 'Bearer tok-3' }, gitlab: { config: { token: 'tok-4' } } }, 'hello');
    expect(lines).toHaveLength(1);
    const out = lines[0]!;
    for (const secret of ['tok-1', 'tok-2', 'tok-3', 'tok-4']) expect(out).not.toContain(secret);
    expect(out).toContain('[redacted]');
    expect(JSON.parse(out).msg).toBe('hello');
  });
});
