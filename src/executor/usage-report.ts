/**
 * Reporting a build's resource usage to the quarters server after every build stage, failed ones
 * included: `PUT /api/v1/builds/ID/resource-usage` with the same credentials as uploads. The job
 * token is only valid while the job runs, so this happens before the stage exits. It never fails the
 * job: a usage figure is worth less than the build, so a failure to report is logged and that is all.
 */
import { resourceUsagePath } from '../core/resource-usage.js';
import { SystemFailure } from './failure.js';
import { requestProblem, serverMessage } from './server-http.js';
import type { JobSession } from './session.js';
import { buildTarget, usageReport, type UploadTarget } from './upload.js';
import type { ResourceUsage } from './workspace.js';

export interface ReportOptions {
  attempts: number;
  /** First retry delay; doubles each attempt. */
  backoffMs: number;
  /** Per attempt. */
  timeoutMs: number;
}

const DEFAULTS: ReportOptions = { attempts: 3, backoffMs: 500, timeoutMs: 10_000 };

/** Sends `usage` for the job's build when the job is a quarters build; logs, never throws. */
export async function reportResourceUsage(session: JobSession, usage: ResourceUsage, options: ReportOptions = DEFAULTS): Promise<void> {
  let target: UploadTarget | null;
  try {
    target = buildTarget(session);
  } catch (error) {
    if (!(error instanceof SystemFailure)) throw error;
    session.log(`quarters: resource usage not reported: ${error.message}`);
    return;
  }
  if (!target) return;
  const url = `${target.serverUrl}${resourceUsagePath(target.buildId)}`;
  const body = JSON.stringify(usageReport(usage));
  let problem = '';
  for (let attempt = 1; attempt <= options.attempts; attempt++) {
    if (attempt > 1) await new Promise((resolve) => setTimeout(resolve, options.backoffMs * 2 ** (attempt - 2)));
    let response: Response;
    try {
      response = await fetch(url, {
        method: 'PUT',
        headers: { authorization: `Bearer ${target.executorToken}`, 'x-job-token': target.jobToken, 'content-type': 'application/json' },
        body,
        signal: AbortSignal.timeout(options.timeoutMs),
      });
    } catch (error) {
      problem = requestProblem(error);
      continue;
    }
    if (response.ok) {
      await response.body?.cancel();
      return;
    }
    problem = `HTTP ${response.status}: ${await serverMessage(response)}`;
    if (response.status < 500) break;
  }
  session.log(`quarters: warning: could not report the resource usage to ${url}: ${problem}`);
}
