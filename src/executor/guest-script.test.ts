import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { credentialValues, maskCredentials } from './guest-script.js';

const env = (vars: Record<string, string>): NodeJS.ProcessEnv => Object.fromEntries(Object.entries(vars).map(([k, v]) => [`CUSTOM_ENV_${k}`, v]));

describe('credential masking', () => {
  it('masks job tokens, secret-named variables and masked variables of the job response, not the runner short token', () => {
    const dir = mkdtempSync(join(tmpdir(), 'quarters-mask-'));
    const response = join(dir, 'response.json');
    writeFileSync(response, JSON.stringify({ id: 1, job_info: { project_id: 1 }, token: 'glcbt-abcdef', variables: [{ key: 'DEPLOY_KEY', value: 'masked-value-1', masked: true }, { key: 'PLAIN', value: 'visible-value', masked: false }] }));
    const values = credentialValues({ ...env({ CI_JOB_TOKEN: 'glcbt-abcdef', MY_API_PASSWORD: 'hunter2hunter2', CI_RUNNER_SHORT_TOKEN: 'emulatr1' }), JOB_RESPONSE_FILE: response });
    expect(values.sort()).toEqual(['glcbt-abcdef', 'hunter2hunter2', 'masked-value-1']);
    const script = ": | eval $'export CI_JOB_TOKEN=glcbt-abcdef\\nexport URL=https://gitlab-ci-token:glcbt-abcdef@host/x.git\\nexport P=visible-value\\nexport R=emulatr1'";
    const masked = maskCredentials(script, values);
    expect(masked).not.toContain('glcbt-abcdef');
    expect(masked).toContain('gitlab-ci-token:[MASKED]@host');
    expect(masked).toContain('visible-value');
    expect(masked).toContain('emulatr1');
  });
});
