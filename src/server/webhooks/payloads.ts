/**
 * GitLab webhook payloads quarters acts on, as zod schemas of GitLab's documented bodies
 * ("Webhook events"). Objects are loose: GitLab adds fields over time, and we keep them.
 */
import { z } from 'zod';

const sha = z.string().regex(/^[0-9a-f]{40}$/, 'expected a 40-hex commit id');
const projectRef = z.looseObject({
  id: z.number().int(),
  path_with_namespace: z.string(),
  default_branch: z.string().nullish(),
  web_url: z.string().optional(),
});
const author = z.looseObject({ name: z.string(), email: z.string().optional() });
const hookUser = z.looseObject({ id: z.number().int().optional(), name: z.string(), username: z.string(), email: z.string().nullish() });

const pushCommit = z.looseObject({
  id: sha,
  message: z.string(),
  timestamp: z.string(),
  author,
  added: z.array(z.string()).default([]),
  modified: z.array(z.string()).default([]),
  removed: z.array(z.string()).default([]),
});

const pushFields = {
  before: sha,
  after: sha,
  ref: z.string().min(1),
  checkout_sha: sha.nullable(),
  user_id: z.number().int(),
  user_name: z.string(),
  user_username: z.string().optional(),
  user_email: z.string().nullish(),
  project_id: z.number().int(),
  project: projectRef,
  commits: z.array(pushCommit),
  total_commits_count: z.number().int().min(0),
};

export const pushHookSchema = z.looseObject({ object_kind: z.literal('push'), ...pushFields });
export const tagPushHookSchema = z.looseObject({ object_kind: z.literal('tag_push'), ...pushFields });

export const mergeRequestHookSchema = z.looseObject({
  object_kind: z.literal('merge_request'),
  user: hookUser,
  project: projectRef,
  object_attributes: z.looseObject({
    id: z.number().int(),
    iid: z.number().int(),
    source_branch: z.string(),
    target_branch: z.string(),
    source_project_id: z.number().int(),
    target_project_id: z.number().int(),
    state: z.string(),
    action: z.string().optional(),
    /** Set on "update" when new commits were pushed: the previous head. */
    oldrev: sha.optional(),
    last_commit: z.looseObject({ id: sha, author: author.optional() }).nullish(),
    url: z.string().optional(),
  }),
});

export const pipelineHookSchema = z.looseObject({
  object_kind: z.literal('pipeline'),
  object_attributes: z.looseObject({
    id: z.number().int(),
    ref: z.string().nullish(),
    sha,
    status: z.string(),
    source: z.string().optional(),
    created_at: z.string().nullish(),
    finished_at: z.string().nullish(),
    duration: z.number().nullish(),
    variables: z.array(z.looseObject({ key: z.string(), value: z.string() })).default([]),
    url: z.string().optional(),
  }),
  project: projectRef,
  user: hookUser.nullish(),
  builds: z.array(z.looseObject({ id: z.number().int(), name: z.string(), status: z.string() })).default([]),
});

export const jobHookSchema = z.looseObject({
  object_kind: z.literal('build'),
  build_id: z.number().int(),
  build_name: z.string(),
  build_status: z.string(),
  pipeline_id: z.number().int(),
  project_id: z.number().int(),
  sha: sha.optional(),
  build_created_at: z.string().nullish(),
  build_started_at: z.string().nullish(),
  build_finished_at: z.string().nullish(),
  /** The runner that took the job; null while the job waits for one. */
  runner: z.looseObject({ id: z.number().int(), description: z.string().nullish() }).nullish(),
});

export type PushHook = z.infer<typeof pushHookSchema>;
export type TagPushHook = z.infer<typeof tagPushHookSchema>;
export type MergeRequestHook = z.infer<typeof mergeRequestHookSchema>;
export type PipelineHook = z.infer<typeof pipelineHookSchema>;
export type JobHook = z.infer<typeof jobHookSchema>;

/** The `X-Gitlab-Event` header values quarters acts on, and each one's schema. */
export const HOOK_SCHEMAS = {
  'Push Hook': pushHookSchema,
  'Tag Push Hook': tagPushHookSchema,
  'Merge Request Hook': mergeRequestHookSchema,
  'Pipeline Hook': pipelineHookSchema,
  'Job Hook': jobHookSchema,
} as const;

export type HookKind = keyof typeof HOOK_SCHEMAS;

/** A stored, validated event, tagged by its kind. */
export type HookEvent =
  | { kind: 'Push Hook'; body: PushHook }
  | { kind: 'Tag Push Hook'; body: TagPushHook }
  | { kind: 'Merge Request Hook'; body: MergeRequestHook }
  | { kind: 'Pipeline Hook'; body: PipelineHook }
  | { kind: 'Job Hook'; body: JobHook };

/** True for the event kinds quarters acts on. */
export function isHookKind(kind: string): kind is HookKind {
  return Object.hasOwn(HOOK_SCHEMAS, kind);
}

/** The all-zero sha GitLab puts in `before` for a created branch and in `after` for a deleted one. */
export const ZERO_SHA = '0'.repeat(40);
