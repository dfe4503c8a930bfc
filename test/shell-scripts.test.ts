/** The shell scripts quarters ships pass shellcheck (installed by scripts/install-deps). */
import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { execa, execaSync } from 'execa';
import { reportSkip } from './support/capabilities.js';

const SCRIPTS = ['vm/quarters-build', 'vm/quarters-image-install', 'scripts/make-base', 'bench/job-mount.sh'];
const ROOT = fileURLToPath(new URL('..', import.meta.url));

const missing = execaSync('sh', ['-c', 'command -v shellcheck'], { reject: false }).exitCode !== 0;
const skip = reportSkip(missing ? 'shellcheck is not installed (scripts/install-deps installs it)' : null, 'shellcheck');

describe.skipIf(skip)('shell scripts', () => {
  it.each(SCRIPTS)('%s passes shellcheck', async (script) => {
    const result = await execa('shellcheck', ['--format=gcc', script], { cwd: ROOT, reject: false });
    expect(result.stdout, result.stdout).toBe('');
    expect(result.exitCode).toBe(0);
  });
});
