import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { chmodSync, chownSync, closeSync, existsSync, linkSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStageSandbox } from './stage-sandbox.js';

const program = { bytes: Buffer.from('#!/bin/sh\necho the sandbox\n'), hash: 'test1' };
const asRoot = process.getuid?.() === 0;

describe.skipIf(!asRoot)('openStageSandbox', () => {
  let dir: string;
  let sandboxDir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'quarters-stage-sandbox-'));
    sandboxDir = join(dir, 'stage-sandbox');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const file = (): string => join(sandboxDir, 'quarters-stage-sandbox-test1');
  const opened = (): string => {
    const { fd, file: path } = openStageSandbox(sandboxDir, program);
    try {
      expect(path).toBe(file());
      return readFileSync(`/proc/self/fd/${fd}`, 'utf8');
    } finally {
      closeSync(fd);
    }
  };

  it('writes the program root-only once, and opens the same file after', () => {
    expect(opened()).toBe('#!/bin/sh\necho the sandbox\n');
    expect(statSync(sandboxDir).mode & 0o777).toBe(0o700);
    const first = statSync(file());
    expect(first.mode & 0o777).toBe(0o700);
    expect(opened()).toBe('#!/bin/sh\necho the sandbox\n');
    expect(statSync(file()).ino).toBe(first.ino);
  });

  it('replaces a program with other bytes, one others may write, one with a second name or a link in its place', () => {
    opened();
    writeFileSync(file(), '#!/bin/sh\necho planted\n');
    expect(opened()).toBe('#!/bin/sh\necho the sandbox\n');
    chmodSync(file(), 0o702);
    expect(opened()).toBe('#!/bin/sh\necho the sandbox\n');
    expect(statSync(file()).mode & 0o777).toBe(0o700);
    const second = join(dir, 'second-name');
    linkSync(file(), second);
    const linked = statSync(file()).ino;
    expect(opened()).toBe('#!/bin/sh\necho the sandbox\n');
    expect(statSync(file()).ino).not.toBe(linked);
    rmSync(file());
    writeFileSync(join(dir, 'elsewhere'), 'elsewhere');
    symlinkSync(join(dir, 'elsewhere'), file());
    expect(opened()).toBe('#!/bin/sh\necho the sandbox\n');
    expect(readFileSync(join(dir, 'elsewhere'), 'utf8')).toBe('elsewhere');
  });

  it('replaces a program of another owner', () => {
    opened();
    chownSync(file(), 65534, 65534);
    expect(opened()).toBe('#!/bin/sh\necho the sandbox\n');
    expect(statSync(file()).uid).toBe(0);
  });

  it('removes another build\'s program', () => {
    mkdirSync(sandboxDir, { mode: 0o700 });
    writeFileSync(join(sandboxDir, 'quarters-stage-sandbox-old'), 'old', { mode: 0o700 });
    opened();
    expect(existsSync(join(sandboxDir, 'quarters-stage-sandbox-old'))).toBe(false);
  });

  it('refuses a directory that is not root\'s: the stage does not run', () => {
    mkdirSync(sandboxDir, { mode: 0o700 });
    chownSync(sandboxDir, 65534, 65534);
    expect(() => openStageSandbox(sandboxDir, program)).toThrow(`cannot write the host stage sandbox program ${file()}: ${sandboxDir} is not a directory of root's`);
  });
});
