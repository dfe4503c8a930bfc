/** What the guest gets of a runner-generated stage script: the same script with every credential value masked. */
import { customEnv } from './job.js';

const CREDENTIAL_NAMES = /(TOKEN|PASSWORD|SECRET|JWT|PRIVATE_KEY)/;

/** Credential values among the job variables (CI_JOB_TOKEN, CI_REGISTRY_PASSWORD, *_TOKEN ...), longest first. */
export function credentialValues(env: NodeJS.ProcessEnv): string[] {
  const values = Object.entries(customEnv(env))
    .filter(([name, value]) => CREDENTIAL_NAMES.test(name) && value.length >= 6)
    .map(([, value]) => value);
  return [...new Set(values)].sort((a, b) => b.length - a.length);
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
