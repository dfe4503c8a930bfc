/** The workspace's state file (workspace.ts) as zod validates it when another build of the executor wrote it, and the types every command uses. */
import './zod-messages.js';
import * as z from 'zod/mini';
import { processIdentitySchema } from './process-identity-schema.js';

export const jobMountSchema = z.strictObject({
  /** Where it is mounted (nosuid,nodev); it holds layer/ (the backend's writable layer), output/ and build/. */
  mountPoint: z.string(),
  /** The job's disk (limits.disk_mib) the mount point shows; absent: a bind of the mount point onto itself, no limit. */
  disk: z.optional(z.strictObject({ image: z.string(), sizeMib: z.number() })),
  /** Host directories outside the workspace the guest writes to, bound onto themselves nosuid,nodev; unmounted, not removed, with the job. */
  sharedDirs: z.array(z.string()),
});
export type JobMount = z.infer<typeof jobMountSchema>;

const usageSchema = z.strictObject({
  wallSeconds: z.number(),
  cpuSeconds: z.number(),
  peakMemoryBytes: z.nullable(z.number()),
  diskBytes: z.number(),
});
export type ResourceUsage = z.infer<typeof usageSchema>;

export const workspaceStateSchema = z.strictObject({
  name: z.string(),
  slot: z.string(),
  jobId: z.string(),
  created: z.string(),
  backend: z.string(),
  /** What the backend runs the job from (environment.ts: BaseImage, InstanceLayer). */
  base: z.strictObject({ version: z.string(), path: z.string() }),
  instance: z.nullable(z.strictObject({ key: z.string(), version: z.string(), dir: z.string() })),
  /** The job's build directory on the host (builds_dir from `config`), bind-mounted at the same path. */
  buildsDir: z.string(),
  outputDir: z.string(),
  /** The build set's repository offered read-only at /quarters/repo (a job's: its own copy, workspace/repository); null: none. */
  repository: z._default(z.nullable(z.string()), null),
  /** The job's mount (nosuid,nodev; its disk with limits.disk_mib), holding its writable layer, output and build directory. */
  mount: jobMountSchema,
  hostUser: z.strictObject({ uid: z.number(), gid: z.number() }),
  /** The process that started the executor (GitLab Runner); when it is gone, so is the job. */
  runner: z.nullable(processIdentitySchema),
  /** The executor command working on the workspace right now, if any. */
  active: z.nullable(processIdentitySchema),
  updated: z.string(),
  usage: usageSchema,
  /** Which build of the executor wrote it (workspace.ts reads its own builds' states unvalidated). */
  build: z.optional(z.string()),
});
export type WorkspaceState = z.infer<typeof workspaceStateSchema>;

