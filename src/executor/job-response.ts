/**
 * The job as GitLab handed it to the runner: GitLab Runner writes the job's API response to
 * JOB_RESPONSE_FILE before it starts the executor. Unlike the CUSTOM_ENV_* variables, which a job
 * overrides by setting a variable of the same name, its `id` and `job_info.project_id` are GitLab's.
 */
import { readFileSync } from 'node:fs';
import { SystemFailure } from './failure.js';

/** The job response's fields the executor reads; others are kept as they are. */
export interface JobResponse {
  id: number;
  token?: string;
  job_info: { project_id: number; [key: string]: unknown };
  /** The repository the runner clones: its path is the project's slug in the runner's cache_dir (project-cache.ts). */
  git_info?: { repo_url?: string; [key: string]: unknown };
  /** GitLab's predefined variables first, then the project's, group's and .gitlab-ci.yml's: a key may appear twice, the last wins. */
  variables: { key: string; value?: string | null; masked?: boolean; [key: string]: unknown }[];
  [key: string]: unknown;
}

// Checked by hand, not with zod: every start of the executor reads the response (a dozen a job), and
// loading zod was some 5 ms of each. The messages are those zod gives (job-response.test.ts compares).
type Check = (value: unknown, path: string) => void;

class ResponseIssue extends Error {
  constructor(readonly path: string, message: string) {
    super(message);
  }
}

const received = (value: unknown): string => (value === null ? 'null' : Array.isArray(value) ? 'array' : Number.isNaN(value) ? 'NaN' : typeof value);
const expected = (what: string, value: unknown, path: string): ResponseIssue => new ResponseIssue(path, `Invalid input: expected ${what}, received ${received(value)}`);
const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
const at = (path: string, key: string | number): string => (path ? `${path}.${key}` : String(key));

const positiveInt: Check = (value, path) => {
  if (typeof value !== 'number' || Number.isNaN(value)) throw expected('number', value, path);
  if (!Number.isInteger(value)) throw expected('int', value, path);
  if (value > Number.MAX_SAFE_INTEGER) throw new ResponseIssue(path, `Too big: expected int to be <=${Number.MAX_SAFE_INTEGER}`);
  if (value < Number.MIN_SAFE_INTEGER) throw new ResponseIssue(path, `Too small: expected int to be >=${Number.MIN_SAFE_INTEGER}`);
  if (value <= 0) throw new ResponseIssue(path, 'Too small: expected number to be >0');
};
const string: Check = (value, path) => {
  if (typeof value !== 'string') throw expected('string', value, path);
};
const optional = (check: Check): Check => (value, path) => {
  if (value !== undefined) check(value, path);
};
const object = (fields: Record<string, Check>): Check => (value, path) => {
  if (!isObject(value)) throw expected('object', value, path);
  for (const [key, check] of Object.entries(fields)) check(value[key], at(path, key));
};

const variable = object({
  key: string,
  value: (value, path) => value === null || optional(string)(value, path),
  masked: optional((value, path) => {
    if (typeof value !== 'boolean') throw expected('boolean', value, path);
  }),
});
const checkResponse = object({
  id: positiveInt,
  token: optional(string),
  job_info: object({ project_id: positiveInt }),
  git_info: optional(object({ repo_url: optional(string) })),
  variables: optional((value, path) => {
    if (!Array.isArray(value)) throw expected('array', value, path);
    value.forEach((entry, index) => variable(entry, at(path, index)));
  }),
});

/** The job response in `json`, or the first thing wrong with it: its path and a message. */
export function parseJobResponse(json: unknown): { response: JobResponse } | { path: string; message: string } {
  try {
    checkResponse(json, '');
  } catch (error) {
    if (error instanceof ResponseIssue) return { path: error.path, message: error.message };
    throw error;
  }
  const response = json as JobResponse;
  return { response: { ...response, variables: response.variables ?? [] } };
}

/** The runner's job response, or null when the executor was not started by GitLab Runner (JOB_RESPONSE_FILE unset). */
export function readJobResponse(env: NodeJS.ProcessEnv): JobResponse | null {
  const file = env.JOB_RESPONSE_FILE;
  if (!file) return null;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new SystemFailure(`cannot read the runner's job response JOB_RESPONSE_FILE=${file}: ${(error as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new SystemFailure(`the runner's job response ${file} is not JSON: ${(error as Error).message}`);
  }
  const parsed = parseJobResponse(json);
  if ('path' in parsed) throw new SystemFailure(`the runner's job response ${file}: ${parsed.path}: ${parsed.message}`);
  return parsed.response;
}
