/** What the guest gets of a runner-generated stage script: the same script with every credential value masked. */
import { customEnv } from './job.js';
import { readJobResponse } from './job-response.js';

/** Variables GitLab fills with credentials. */
const KNOWN_CREDENTIALS = new Set(['CI_JOB_TOKEN', 'CI_BUILD_TOKEN', 'CI_REGISTRY_PASSWORD', 'CI_DEPENDENCY_PROXY_PASSWORD', 'CI_DEPLOY_PASSWORD', 'CI_JOB_JWT', 'CI_JOB_JWT_V1', 'CI_JOB_JWT_V2']);
/** User variables whose names say they hold a secret. */
const CREDENTIAL_NAMES = /(TOKEN|PASSWORD|SECRET|PRIVATE_KEY)$/;
/** Identifiers that look like credentials by name but are not, and appear in paths. */
const NOT_CREDENTIALS = new Set(['CI_RUNNER_SHORT_TOKEN']);

/** Values GitLab asked to mask (JOB_RESPONSE_FILE's `masked` variables and the job token). */
function maskedInJobResponse(env: NodeJS.ProcessEnv): string[] {
  const response = readJobResponse(env);
  if (!response) return [];
  return [response.token ?? '', ...response.variables.filter((v) => v.masked).map((v) => v.value ?? '')];
}

/** Credential values of this job, longest first (so a value containing another is masked whole). */
export function credentialValues(env: NodeJS.ProcessEnv): string[] {
  const byName = Object.entries(customEnv(env))
    .filter(([name]) => !NOT_CREDENTIALS.has(name) && (KNOWN_CREDENTIALS.has(name) || CREDENTIAL_NAMES.test(name)))
    .map(([, value]) => value);
  return [...new Set([...byName, ...maskedInJobResponse(env)])].filter((v) => v.length >= 6).sort((a, b) => b.length - a.length);
}

/**
 * Masks each credential value wherever it appears. The runner embeds variables in the script in
 * several escapings (plain exports, one `eval $'...'` string); masking the values themselves does
 * not depend on any of them.
 */
export function maskCredentials(script: string, values: readonly string[]): string {
  let out = script;
  for (const value of values) out = out.split(value).join('[MASKED]');
  return out;
}
