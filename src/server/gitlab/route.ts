/** Turns a REST endpoint into a route label of bounded cardinality (`projects/:id/pipelines/:pipeline_id`), for metrics and errors. */

/** After these segments comes an identifier, named by the label. */
const PARAMETER_AFTER: Readonly<Record<string, string>> = {
  projects: ':id',
  groups: ':id',
  files: ':file_path',
  commits: ':sha',
  statuses: ':sha',
  branches: ':branch',
  pipelines: ':pipeline_id',
  merge_requests: ':iid',
  notes: ':note_id',
  jobs: ':job_id',
};

/** Literal segments of the endpoints the client uses; anything else is an identifier. */
const LITERALS: ReadonlySet<string> = new Set([
  ...Object.keys(PARAMETER_AFTER), 'repository', 'raw', 'tree', 'compare', 'pipeline', 'variables', 'cancel', 'retry', 'job', 'latest', 'user', 'statuses',
]);

/** The route label of an endpoint path relative to `/api/v4/` (query string ignored). */
export function routeOf(endpoint: string): string {
  const segments = endpoint.split('?')[0]!.replace(/^\/+|\/+$/g, '').split('/');
  const out: string[] = [];
  for (let i = 0; i < segments.length; i += 1) {
    const segment = segments[i]!;
    const previous = segments[i - 1];
    const parameter = previous === undefined ? undefined : PARAMETER_AFTER[previous];
    if (parameter !== undefined && !(previous === 'pipelines' && segment === 'latest')) out.push(parameter);
    else out.push(LITERALS.has(segment) ? segment : ':param');
  }
  return out.join('/');
}
