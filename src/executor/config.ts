/** The executor's own configuration: TOML at QUARTERS_EXECUTOR_CONFIG, validated with zod (mini: see zod-messages.ts). */
import { isIP } from 'node:net';
import { totalmem } from 'node:os';
import { isAbsolute } from 'node:path';
import './zod-messages.js';
import * as z from 'zod/mini';
import { loadConfigFile } from '../common/config-file.js';
import { BACKEND_NAMES } from './environment.js';
import { executorConfigPath } from './config-load.js';
import { GUEST_ID_COUNT } from './guest-ids.js';

export { DEFAULT_CONFIG_FILE, executorConfigPath } from './config-load.js';

const absolutePath = z.string().check(z.refine(isAbsolute, 'expected an absolute path'));
/** A name that is safe as a path component and in overlay mount options. */
const safeName = z.string().check(z.regex(/^[A-Za-z0-9][A-Za-z0-9._+-]*$/, 'expected letters, digits, ".", "_", "+" or "-"'));

/** The smallest job disk worth making. */
const MIN_DISK_MIB = 16;

/** A job's disk when the config names none: room for large builds, and sparse, so it costs the host only what a job writes. */
export const DEFAULT_DISK_MIB = 20 * 1024;

/** A job's memory when the config names none: half the host's RAM, at most 16 GiB, so one build cannot take the host's memory from the runner and the other jobs. */
export function defaultMemoryMib(hostBytes = totalmem()): number {
  return Math.max(256, Math.min(16 * 1024, Math.floor(hostBytes / 2 / 1024 / 1024)));
}

/** An IPv4 or IPv6 address, or one with a prefix length ("10.0.0.0/8", "fd00::/8"). */
const cidr = z.string().check(z.refine((text) => {
  const [address, prefix, ...rest] = text.split('/');
  const family = isIP(address ?? '');
  if (!family || rest.length > 0) return false;
  return prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 6 ? 128 : 32));
}, 'expected an address or an address/prefix-length (CIDR)'));

const limitsSchema = z.strictObject({
  /** Memory limit of a build and of each host stage, in MiB (0: none; default: half the host's RAM, at most 16 GiB). */
  memory_mib: z._default(z.int().check(z.nonnegative()), () => defaultMemoryMib()),
  /** CPU limit of a build, in CPUs (0: none). */
  cpus: z._default(z.number().check(z.nonnegative()), 0),
  /**
   * Disk limit of a job, in MiB (0: none; default 20 GiB): its writable layer, output and build directory
   * live on a filesystem of this size (job-disk.ts), so a write past it fails in the build.
   */
  disk_mib: z._default(
    z.int().check(
      z.nonnegative(),
      z.refine((mib) => mib === 0 || mib >= MIN_DISK_MIB, `expected 0 (no limit) or at least ${MIN_DISK_MIB}: a smaller filesystem holds little besides its own metadata`),
    ),
    DEFAULT_DISK_MIB,
  ),
  /**
   * Most processes (threads included) a job's guest stage, and each of its host stages, may run at
   * once (0: none): a fork bomb stops at this, not at the host's limit.
   */
  pids: z._default(z.int().check(z.nonnegative()), 4096),
  /**
   * Size of the guest's /tmp and /dev/shm, in MiB each (0: nspawn's default, a share of the host's RAM).
   * They are RAM, outside disk_mib; host stages get a private /tmp of this size too.
   */
  tmpfs_mib: z._default(z.int().check(z.nonnegative()), 1024),
  /** Wall-clock limit of one guest stage, in minutes (0: none; GitLab's job timeout still applies). */
  build_timeout_minutes: z._default(z.number().check(z.nonnegative()), 0),
});

const networkSchema = z.strictObject({
  /** Whether build stages (build_script, step_*) get the host's network. Off by default: recipes build offline. */
  build: z._default(z.boolean(), false),
  /** Whether prepare_script and after_script get the network. */
  other_stages: z._default(z.boolean(), false),
  /**
   * Run inside the container, with network, before build_script (as devtools runs `makepkg --verifysource`):
   * fetches the sources so the build itself can run offline. Empty: no fetch step.
   */
  fetch_command: z._default(z.array(z.string()), []),
  /**
   * Destinations guest commands with network never reach, besides every address of the host itself and
   * the quarters server (server.url), which are always blocked: addresses or CIDRs (e.g. the LAN, a
   * cloud's metadata service 169.254.169.254).
   */
  blocked_networks: z._default(z.array(cidr), []),
});

const hostStagesSchema = z.strictObject({
  /**
   * Host paths a host stage sees besides the job's own build directory, the runner's cache_dir and
   * read-only system paths (e.g. a local git mirror); work_dir, other jobs' build directories and
   * /tmp stay hidden even below them.
   */
  paths: z._default(z.array(absolutePath), []),
});

const instanceSchema = z.strictObject({
  /** How the instance layer updates packages: detected from the base OS by default. */
  package_manager: z._default(z.enum(['auto', 'pacman', 'apt', 'none']), 'auto'),
  /** An instance is refreshed (update + upgrade) at most this often. */
  refresh_minutes: z._default(z.number().check(z.nonnegative()), 60),
  /** The target branches (QUARTERS_TARGET_BRANCH) a job may build for; unset: every BRANCH.list in source_lists. */
  branches: z.optional(z.array(safeName)),
});

const qemuSchema = z.strictObject({
  /** The kernel the VMs boot: "auto" (the host's newest /boot/vmlinuz-RELEASE with /lib/modules/RELEASE) or such a file. */
  kernel: z._default(z.union([z.literal('auto'), absolutePath]), 'auto'),
  /** "auto": KVM where the host virtualizes in hardware, else TCG (emulated: many times slower). */
  accelerator: z._default(z.enum(['auto', 'kvm', 'tcg']), 'auto'),
  /** A VM that has not started its command by then is a system failure (TCG boots take seconds, more on a busy host). */
  boot_timeout_seconds: z._default(z.number().check(z.positive()), 180),
  /** A VM's memory when limits.memory_mib is 0. */
  default_memory_mib: z._default(z.int().check(z.gte(256)), 2048),
  /** How the build directory, the output and the build set's repository reach the VM: "auto" (virtiofs where virtiofsd is installed, else 9p), "virtiofs" or "9p". */
  shared_fs: z._default(z.enum(['auto', 'virtiofs', '9p']), 'auto'),
});

const isolationSchema = z.strictObject({
  /**
   * Guest commands run in a user namespace (nspawn --private-users): root in the guest is an
   * unprivileged uid on the host. Off only for hosts whose work_dir cannot take idmapped mounts.
   */
  user_namespace: z._default(z.boolean(), true),
  /**
   * The first host uid and gid of the guests' ids: guest id N is host id id_base + N, for N below 65536.
   * A multiple of 65536 that no host user or group uses (checked); the default lies above the range
   * systemd-nspawn picks from, below 2^31.
   */
  id_base: z._default(
    z.int().check(
      z.gte(GUEST_ID_COUNT),
      z.lte(2 ** 31 - 2 * GUEST_ID_COUNT),
      z.refine((base) => base % GUEST_ID_COUNT === 0, `expected a multiple of ${GUEST_ID_COUNT}`),
    ),
    0x70000000,
  ),
});

export const executorConfigSchema = z.strictObject({
  work_dir: z._default(absolutePath, '/var/lib/quarters'),
  arch: z._default(safeName, 'x86_64'),
  /** How jobs are isolated: "nspawn" (overlay + systemd-nspawn containers) or "qemu" (a throw-away VM per job). */
  backend: z._default(z.enum(BACKEND_NAMES), 'nspawn'),
  /** Where job build directories are created (per job: builds_dir_is_shared is false). Default: WORK_DIR/builds. */
  builds_dir: z.optional(absolutePath),
  /** Where the runner keeps local caches. Default: WORK_DIR/cache. */
  cache_dir: z.optional(absolutePath),
  /** A directory with one BRANCH.list per target branch: the package sources of the instance layer. */
  source_lists: z._default(absolutePath, '/etc/quarters/sources'),
  /** The target branch when a job does not set QUARTERS_TARGET_BRANCH. */
  default_branch: z._default(safeName, 'stable'),
  /** Who runs the host-side stages (git, caches, artifacts): a user name or "UID:GID". Never root. */
  host_user: z._default(z.string().check(z.minLength(1)), 'gitlab-runner'),
  /** The build driver (vm/quarters-build), offered read-only in every guest at /usr/local/bin/quarters-build. */
  build_driver: z.optional(absolutePath),
  /**
   * The quarters server's repositories on a shared filesystem (its data_dir/repos: NAMESPACE/ITERATION/ARCH):
   * read and verified from here instead of fetched from server.url.
   */
  repositories_dir: z.optional(absolutePath),
  server: z._default(
    z.strictObject({
      /**
       * The quarters server this executor works for: uploads, resource usage and build-set repositories go
       * to and come from here, never from a URL a job names (QUARTERS_SERVER_URL must match it).
       */
      url: z.optional(z.url({ protocol: /^https?$/, error: 'expected an http:// or https:// URL' })),
      /** Executor token the server accepts for uploads. */
      token: z.optional(z.string().check(z.minLength(1))),
      /** Upload attempts when the server cannot be reached. */
      upload_attempts: z._default(z.int().check(z.gte(1), z.lte(20)), 5),
    }),
    { upload_attempts: 5 },
  ),
  limits: z._default(limitsSchema, () => limitsSchema.parse({})),
  network: z._default(networkSchema, () => networkSchema.parse({})),
  instance: z._default(instanceSchema, () => instanceSchema.parse({})),
  host_stages: z._default(hostStagesSchema, () => hostStagesSchema.parse({})),
  isolation: z._default(isolationSchema, () => isolationSchema.parse({})),
  /** The VMs of backend = "qemu". */
  qemu: z._default(qemuSchema, () => qemuSchema.parse({})),
});

export type ExecutorConfig = z.infer<typeof executorConfigSchema>;

/** Secrets that may be given as `<key>_file`. */
export const EXECUTOR_SECRET_KEYS = ['server.token'] as const;

/** Loads and validates the executor config; throws ConfigError naming the file and key. The secret files it read go into `read`. */
export function loadExecutorConfig(file: string = executorConfigPath(), read?: string[]): ExecutorConfig {
  return loadConfigFile(executorConfigSchema, file, EXECUTOR_SECRET_KEYS, read);
}
