import { describe, expect, it } from 'vitest';
import './zod-messages.js';
import * as z from 'zod/mini';
import { parseJobResponse } from './job-response.js';

/** The response's shape as zod declared it before it was checked by hand: the reference the hand check must agree with. */
const reference = z.looseObject({
  id: z.int().check(z.positive()),
  token: z.optional(z.string()),
  job_info: z.looseObject({ project_id: z.int().check(z.positive()) }),
  git_info: z.optional(z.looseObject({ repo_url: z.optional(z.string()) })),
  variables: z._default(z.array(z.looseObject({ key: z.string(), value: z.nullish(z.string()), masked: z.optional(z.boolean()) })), []),
});

const ok = { id: 12, job_info: { project_id: 3 } };
const cases: unknown[] = [
  null, [], 'text', 5, {}, { job_info: { project_id: 1 } },
  { ...ok, id: '12' }, { ...ok, id: 1.5 }, { ...ok, id: 0 }, { ...ok, id: -4 }, { ...ok, id: 1e300 }, { ...ok, id: -1e300 }, { ...ok, id: null },
  { id: 1 }, { id: 1, job_info: null }, { id: 1, job_info: [] }, { id: 1, job_info: {} }, { id: 1, job_info: { project_id: '3' } },
  { ...ok, token: 5 }, { ...ok, token: 'glcbt-1' }, { ...ok, git_info: 5 }, { ...ok, git_info: {} }, { ...ok, git_info: { repo_url: 5 } }, { ...ok, git_info: { repo_url: 'https://x/g/p.git', depth: 1 } },
  { ...ok, variables: {} }, { ...ok, variables: [5] }, { ...ok, variables: [{ key: 5 }] }, { ...ok, variables: [{}] },
  { ...ok, variables: [{ key: 'A', value: 5 }] }, { ...ok, variables: [{ key: 'A', value: null }] }, { ...ok, variables: [{ key: 'A', value: 'v', masked: 'yes' }] },
  { ...ok, variables: [{ key: 'A', value: 'v', masked: true, public: false }, { key: 'B' }] }, { ...ok, extra: { anything: 1 } },
];

describe('parseJobResponse', () => {
  it('accepts and refuses what the zod schema did, with its messages, and defaults variables to none', () => {
    for (const json of cases) {
      const want = reference.safeParse(json);
      const got = parseJobResponse(json);
      if (want.success) expect(got, JSON.stringify(json)).toEqual({ response: want.data });
      else expect(got, JSON.stringify(json)).toEqual({ path: want.error.issues[0]!.path.map(String).join('.'), message: want.error.issues[0]!.message });
    }
  });

  it('names what is wrong by its path', () => {
    expect(parseJobResponse({ id: 1, job_info: {} })).toEqual({ path: 'job_info.project_id', message: 'Invalid input: expected number, received undefined' });
    expect(parseJobResponse({ ...ok, variables: [{ key: 'A' }, { key: 'B', masked: 1 }] })).toEqual({ path: 'variables.1.masked', message: 'Invalid input: expected boolean, received number' });
  });
});
