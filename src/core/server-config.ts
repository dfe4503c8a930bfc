/**
 * The quarters server's config (TOML, keys as ARCHITECTURE.md lists them), as one zod schema.
 * Secrets may be given as `<key>_file` instead; SERVER_SECRET_KEYS names them for the loader.
 */
import { z } from 'zod';
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

/**
 * The key the server signs repositories with (never handed to runners or guests): an armored secret key
 * file imported into a GnuPG home of the server's own (`<data_dir>/gnupg`), or an existing GnuPG home.
 */
const signingSchema = z
  .strictObject({
    /** An armored secret key (gpg --armor --export-secret-keys), imported at start. */
    key_file: z.string().min(1).optional(),
    /** A GnuPG home holding the secret key, used as it is. */
    gnupg_home: z.string().min(1).optional(),
    /** The key's fingerprint (40 hex digits) or long key id (16). */
    key_id: z.string().regex(/^(0x)?([0-9A-Fa-f]{16}|[0-9A-Fa-f]{40})$/, 'expected the key\'s fingerprint (40 hex digits) or long key id (16 hex digits)'),
    /** The key's passphrase; give it as passphrase_file. Absent: the key has none. */
    passphrase: z.string().optional(),
  })
  .refine((s) => (s.key_file === undefined) !== (s.gnupg_home === undefined), { message: 'give exactly one of key_file (an armored secret key) or gnupg_home (a GnuPG home holding it)' });

export type SigningConfig = z.infer<typeof signingSchema>;

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
      }),
    api: z.strictObject({ tokens: z.array(token).default([]) }).default({ tokens: [] }),
    /** Required with [gitlab]: uploads come from executors running GitLab jobs. */
    executor: executorSchema.optional(),
    /** Absent: repositories are not signed. */
    signing: signingSchema.optional(),
  })
  .superRefine((config, context) => {
    if (config.gitlab && !config.executor) context.addIssue({ code: 'custom', path: ['executor'], message: 'with [gitlab], give [executor] tokens (the executors\' upload tokens)' });
  });

export type ServerConfig = z.infer<typeof serverConfigSchema>;

/** Dotted keys that may be given as `<key>_file`. */
export const SERVER_SECRET_KEYS = ['gitlab.token', 'gitlab.webhook_secret', 'api.tokens', 'executor.tokens', 'signing.passphrase'] as const;

/** Splits `listen` into the host and port to bind. */
export function listenAddress(config: Pick<ServerConfig, 'listen'>): { host: string; port: number } {
  const at = config.listen.lastIndexOf(':');
  return { host: config.listen.slice(0, at).replace(/^\[|\]$/g, ''), port: Number(config.listen.slice(at + 1)) };
}
