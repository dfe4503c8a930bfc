/**
 * The quarters server's config (TOML, keys as ARCHITECTURE.md lists them), as one zod schema.
 * Secrets may be given as `<key>_file` instead; SERVER_SECRET_KEYS names them for the loader.
 */
import { z } from 'zod';
import { DEB_BUILD_OPTIONS, DEB_BUILD_PROFILE, DEB_BUILD_TYPES } from './pipeline-variables.js';
import { CYCLE_REBUILDS, type CycleRebuild } from './build-set/iteration.js';
import { FLAVOURS, type Flavour } from './recipe/model.js';
import { CACHE_MODES } from './image/description.js';
import { DURATION, durationMs, type RetentionPolicy } from './retention/retention-plan.js';

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

/** The index a distribution repository has: a pacman database, or an apt flat repository per architecture. */
export const REPOSITORY_FLAVOURS = ['pacman', 'apt'] as const;

/**
 * A distribution repository (`[repositories.NAME]`) that `quarters ns release` promotes build sets into:
 * a directory served read-only at /dist/NAME/, with one repository per architecture (`DIR/ARCH/`).
 */
const distributionRepositorySchema = z.strictObject({
  /** The repository's directory: a symlink the server switches to each release's generation (beside it, `.NAME.gen-*`). */
  directory: z.string().min(1),
  flavour: z.enum(REPOSITORY_FLAVOURS),
  /** The architectures it holds; default: [build] architectures. */
  architectures: z.array(z.string().regex(/^[a-z0-9_]+$/, 'an architecture is lower-case letters, digits and _')).min(1).optional(),
});

export type DistributionRepositoryConfig = z.infer<typeof distributionRepositorySchema>;

const executorSchema = z.strictObject({ tokens: z.array(token).min(1, 'at least one executor token is needed to accept uploads') });

const imageSchema = z.strictObject({
  /** Names the image in the API and its URL: /images/NAMESPACE/ITERATION/ARCH/NAME/. */
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'an image name is up to 64 letters, digits and ._-, starting with a letter or digit'),
  /** The image description on this host (an absolute path). */
  description: z.string().regex(/^\//, 'give the description\'s absolute path'),
  /** The build sets it is built for when all their builds of an architecture are built: names, with * for any characters; [] builds it on request only. */
  namespaces: z.array(z.string().regex(/^[A-Za-z0-9*][A-Za-z0-9._+*-]*$/, 'a build set name, with * for any characters')).default(['*']),
  /** The executor config whose clean environment installs the packages (default: the executor's default). */
  executor_config: z.string().regex(/^\//, 'give the executor config\'s absolute path').optional(),
  /** Overrides the description's caching mode. */
  cache: z.enum(CACHE_MODES).optional(),
});

export type ServerImage = z.infer<typeof imageSchema>;

const duration = z.string().regex(DURATION, 'expected a duration: a whole number and s, m, h, d or w, like "30d"');

/**
 * `[retention]`: when superseded and retired build sets' iterations expire (their repositories, the
 * package files only they name, their logs). Never an iteration a release still in a distribution
 * repository was made from. Absent: nothing expires unless `quarters gc` is run (with these defaults).
 */
const retentionSchema = z.strictObject({
  /** The newest iterations of every build set, kept whatever their age. */
  keep_iterations: z.number().int().min(1, 'keep_iterations is at least 1: a build set\'s latest iteration is always kept').default(3),
  /** A superseded iteration (beyond keep_iterations) expires this long after it was superseded. */
  superseded_after: duration.default('30d'),
  /** Every iteration of a retired build set (a merged or closed merge request's) expires this long after it was retired. */
  retired_after: duration.default('90d'),
  /** An ended iteration's logs go this long after it ended, even while it is kept; absent: with the iteration. */
  logs_after: duration.optional(),
  /** How often the server applies the policy. */
  interval: duration.refine((d) => durationMs(d) >= 60_000, 'the interval is at least 1m').default('6h'),
});

export type RetentionConfig = z.infer<typeof retentionSchema>;

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
    /** Absent: repositories are not signed. */
    signing: signingSchema.optional(),
    /** The distribution's repositories, by name (a pacman repository's database is NAME.db). */
    repositories: z.record(z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'a repository name is lower-case letters, digits, _ and -'), distributionRepositorySchema).default({}),
    /** Disk images built from a build set's repository after its builds succeed (`quarters image build` on this host). */
    images: z.array(imageSchema).default([]),
    /** Absent: the server expires nothing by itself; `quarters gc` applies the defaults. */
    retention: retentionSchema.optional(),
  })
  .superRefine((config, context) => {
    const names = new Set<string>();
    config.images.forEach((image, i) => {
      if (names.has(image.name)) context.addIssue({ code: 'custom', path: ['images', i, 'name'], message: `two images are named "${image.name}"` });
      names.add(image.name);
    });
    if (config.gitlab && !config.executor) context.addIssue({ code: 'custom', path: ['executor'], message: 'with [gitlab], give [executor] tokens (the executors\' upload tokens)' });
    const expected = config.build.flavour === 'pkgbuild' ? 'pacman' : 'apt';
    const directories = new Map<string, string>();
    for (const [name, repository] of Object.entries(config.repositories)) {
      if (repository.flavour !== expected) context.addIssue({ code: 'custom', path: ['repositories', name, 'flavour'], message: `the server builds ${config.build.flavour} packages, which go into ${expected} repositories, not ${repository.flavour}` });
      const other = directories.get(repository.directory);
      if (other !== undefined) context.addIssue({ code: 'custom', path: ['repositories', name, 'directory'], message: `repositories.${other} has this directory too` });
      directories.set(repository.directory, name);
      const unknown = (repository.architectures ?? []).filter((a) => !config.build.architectures.includes(a));
      if (unknown.length > 0) context.addIssue({ code: 'custom', path: ['repositories', name, 'architectures'], message: `${unknown.join(', ')} is not one of [build] architectures (${config.build.architectures.join(', ')})` });
    }
  });

export type ServerConfig = z.infer<typeof serverConfigSchema>;

/** Dotted keys that may be given as `<key>_file`. */
export const SERVER_SECRET_KEYS = ['gitlab.token', 'gitlab.webhook_secret', 'api.tokens', 'executor.tokens', 'signing.passphrase'] as const;

/** The retention policy of a config: its [retention], else the defaults. */
export function retentionPolicy(config: Pick<ServerConfig, 'retention'>): RetentionPolicy & { intervalMs: number | null } {
  const r = config.retention ?? retentionSchema.parse({});
  return {
    keepIterations: r.keep_iterations, supersededAfterMs: durationMs(r.superseded_after), retiredAfterMs: durationMs(r.retired_after),
    logsAfterMs: r.logs_after === undefined ? null : durationMs(r.logs_after), intervalMs: config.retention ? durationMs(r.interval) : null,
  };
}

/** Splits `listen` into the host and port to bind. */
export function listenAddress(config: Pick<ServerConfig, 'listen'>): { host: string; port: number } {
  const at = config.listen.lastIndexOf(':');
  return { host: config.listen.slice(0, at).replace(/^\[|\]$/g, ''), port: Number(config.listen.slice(at + 1)) };
}
