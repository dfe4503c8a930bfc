/**
 * The quarters server's config (TOML, keys as ARCHITECTURE.md lists them), as one zod schema.
 * Secrets may be given as `<key>_file` instead; SERVER_SECRET_KEYS names them for the loader.
 */
import { z } from 'zod';
import { DEB_BUILD_OPTIONS, DEB_BUILD_PROFILE, DEB_BUILD_TYPES } from './pipeline-variables.js';
import { CYCLE_REBUILDS, type CycleRebuild } from './build-set/iteration.js';
import { FLAVOURS, type Flavour } from './recipe/model.js';

const hostPort = z.string().regex(/^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, 'expected "host:port"');
const token = z.string().min(16, 'a token must be at least 16 characters');

const gitlabSchema = z
  .strictObject({
      url: z.url(),
      token: z.string().min(1),
      webhook_secret: z.string().min(16, 'the webhook secret must be at least 16 characters'),
      /** Arch layout: the group whose projects are one pkgbase each (recipe at the project root). */
      packages_group: z.string().min(1).optional(),
      /** AOSC layout: the one project holding a directory per package. */
      tree_project: z.string().min(1).optional(),
  })
  .refine((g) => (g.packages_group === undefined) !== (g.tree_project === undefined), {
    message: 'give exactly one of packages_group (a project per package) or tree_project (a directory per package)',
  });

const executorSchema = z.strictObject({ tokens: z.array(token).min(1, 'at least one executor token is needed to accept uploads') });

export const serverConfigSchema = z
  .strictObject({
    listen: hostPort.default('127.0.0.1:8080'),
    /** The URL builds and people reach this server at; passed to builds as QUARTERS_SERVER_URL. */
    public_url: z.url(),
    data_dir: z.string().min(1),
    /** /healthz answers 503 below this much free space in data_dir: uploads and index updates would fail. */
    min_free_mib: z.number().int().min(0).default(1024),
    /** Absent: local-only mode, the server serves what `quarters build` made and asks nothing of GitLab. */
    gitlab: gitlabSchema.optional(),
    build: z
      .strictObject({
        flavour: z.enum(FLAVOURS as unknown as [Flavour, ...Flavour[]]),
        architectures: z.array(z.string().regex(/^[a-z0-9_]+$/, 'an architecture is lower-case letters, digits and _')).min(1),
        auto_rebuild: z.boolean().default(true),
        max_in_flight: z.number().int().min(1).max(1000).default(4),
        /** "once": a dependency cycle's members are built again after the whole cycle, against each other's new packages. */
        cycle_rebuild: z.enum(CYCLE_REBUILDS as unknown as [CycleRebuild, ...CycleRebuild[]]).default('none'),
        /** Debian: added to every build's DEB_BUILD_OPTIONS, e.g. "nocheck" (the driver adds parallel=<processors> unless given). */
        deb_build_options: z.string().regex(DEB_BUILD_OPTIONS, 'blank-separated lower-case words, each maybe with =value, like "nocheck parallel=4"').default(''),
        /** Debian: the build profiles every build and every plan has active (e.g. ["nocheck"]). */
        deb_build_profiles: z.array(z.string().regex(DEB_BUILD_PROFILE, 'a build profile is lower-case letters, digits, ".", "+" and "-"')).default([]),
        /** Debian: "binary" (dpkg-buildpackage -b), or "full": the source package too, published with a Sources index. */
        deb_build_type: z.enum(DEB_BUILD_TYPES, { error: 'expected "binary" (the binary packages) or "full" (the source package too)' }).default('binary'),
      }),
    api: z.strictObject({ tokens: z.array(token).default([]) }).default({ tokens: [] }),
    /** Required with [gitlab]: uploads come from executors running GitLab jobs. */
    executor: executorSchema.optional(),
  })
  .superRefine((config, context) => {
    if (config.gitlab && !config.executor) context.addIssue({ code: 'custom', path: ['executor'], message: 'with [gitlab], give [executor] tokens (the executors\' upload tokens)' });
  });

export type ServerConfig = z.infer<typeof serverConfigSchema>;

/** Dotted keys that may be given as `<key>_file`. */
export const SERVER_SECRET_KEYS = ['gitlab.token', 'gitlab.webhook_secret', 'api.tokens', 'executor.tokens'] as const;

/** Splits `listen` into the host and port to bind. */
export function listenAddress(config: Pick<ServerConfig, 'listen'>): { host: string; port: number } {
  const at = config.listen.lastIndexOf(':');
  return { host: config.listen.slice(0, at).replace(/^\[|\]$/g, ''), port: Number(config.listen.slice(at + 1)) };
}
