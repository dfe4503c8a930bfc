/**
 * The seam between the custom-executor protocol (and the local build command, and the tests) and
 * an isolation backend. A backend (nspawn: overlay + systemd-nspawn containers; qemu: throw-away
 * virtual machines) lives in its own folder under backends/, is chosen by its name, keeps its own
 * storage, and implements this; nothing outside it touches its internals.
 */
import type { Readable, Writable } from 'node:stream';
import type { BaseOsStore, BaseVersion } from './baseos/store.js';

/** The names `backend` takes in the executor's config. */
export const BACKEND_NAMES = ['nspawn', 'qemu'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];

/** A base OS version as a backend runs it: made from the version's tree on first use and kept beside it. */
export interface BaseImage {
  version: string;
  /** What the backend runs from (nspawn: a tree; qemu: a directory with a boot disk, kernel and initrd); the backend's alone to read. */
  path: string;
}

/** An instance layer (instance.ts): the package manager's upgrade on top of a base image, kept by the backend that made it. */
export interface InstanceLayer {
  key: string;
  version: string;
  /** The instance version's directory; the backend keeps its layer in it (Environment.keepLayer). */
  dir: string;
}

/** A host path offered in the guest. */
export interface GuestBind {
  host: string;
  guest: string;
  readOnly?: boolean;
  hostIds?: boolean;
}

/** What a job's environment is built from, resolved by prepare and persisted for run and cleanup. */
export interface EnvironmentSpec {
  /** Unique per job; names the workspace and the container. */
  name: string;
  /** The job's workspace directory (owned by the executor; the backend keeps its layers here). */
  workspace: string;
  /** Where the backend keeps the writable layer instead, when set: the job's mount (nosuid,nodev; with a disk limit, the disk that bounds it). */
  layerDir?: string;
  /** What the guest's root starts from: a base image and, on it, an instance layer. */
  base: BaseImage;
  instance: InstanceLayer | null;
  /**
   * Host directories offered to the guest at the same path or a fixed one. `hostIds`: host users share
   * it with the guest, which sees and writes the host's ids there; else a writable bind is the guest's
   * own (in a user namespace its owner is moved into the guests' ids at setup: the host user's directory
   * becomes the guest's build user's, and what the guest writes there is owned by the guests' ids).
   */
  binds: readonly GuestBind[];
  /** Applied where the backend can: memory in MiB, CPUs, processes, the size of RAM-backed /tmp and /dev/shm in MiB (0 or absent: no limit). */
  limits: { memoryMib: number; cpus: number; pids?: number; tmpfsMib?: number };
  /** Guest commands that get the network reach only the outside, never the host's own (loopback) services: a job's code runs there. */
  outboundOnly?: boolean;
  /** Destinations those commands never reach besides the host's own addresses (the server, configured networks): addresses, CIDRs, host names. */
  blockedDestinations?: readonly string[];
  /** The writable layer outlives the environment (an instance, a base update): it must reach the disk intact. */
  persistent?: boolean;
}

/** One command in the guest. */
export interface GuestCommand {
  command: readonly string[];
  cwd?: string;
  env?: Readonly<Record<string, string>>;
  /** Whether the guest may reach the network for this command. */
  network: boolean;
  /** Extra host paths for this command only (e.g. the stage script, read-only). */
  binds?: readonly GuestBind[];
  stdin?: Readable | 'ignore' | 'inherit';
  stdout?: Writable | 'inherit' | 'ignore';
  stderr?: Writable | 'inherit' | 'ignore';
  /** Aborting stops the command and everything it started. */
  signal?: AbortSignal;
  /** Notes for the job log (e.g. a limit that cannot be applied here). */
  log?: (line: string) => void;
}

export interface ExecResult {
  /** The command's exit status; null when the environment failed to run it to the end (a system failure). */
  exitCode: number | null;
  /** Why the environment failed, when exitCode is null. */
  detail: string;
  /** Peak memory of the guest during the command, in bytes; null where the backend cannot tell. */
  peakMemoryBytes: number | null;
}

export interface Environment {
  /** Creates the job's writable layer and whatever the backend keeps per job (prepare). */
  setup(): Promise<void>;
  /** Runs one command in the guest; the writable layer persists between commands of the job. */
  exec(command: GuestCommand): Promise<ExecResult>;
  /** Tears everything down; idempotent, and safe after a setup that never finished. */
  destroy(): Promise<void>;
  /** Bytes the job has written to its writable layer. */
  diskUsage(): Promise<number>;
  /**
   * Moves the writable layer, after the last command, into `dir` (an instance version's directory),
   * where it becomes the layer of `InstanceLayer.dir`: jobs then start from base + this layer.
   */
  keepLayer(dir: string): Promise<void>;
}

export interface Backend {
  readonly name: BackendName;
  /** Guests run in a user namespace whose ids 0..65535 are host ids idBase..; null: the guest's ids are the host's (or the guest is a VM). */
  readonly idBase: number | null;
  /**
   * The image of a base OS version this backend's guests run from (nspawn: the tree, or its copy owned
   * by the guests' ids; qemu: a boot disk): made on first use under a lock, kept beside the version
   * and removed with it. The first job on a version waits for it.
   */
  prepareBase(store: BaseOsStore, version: BaseVersion, log: (line: string) => void): Promise<BaseImage>;
  /** The environment for this spec; cheap, does nothing until called. */
  environment(spec: EnvironmentSpec): Environment;
  /** Tears down whatever the environment `name` left (processes, mounts, its layer in `workspace`), knowing nothing else: for reclaiming and stale sweeps; idempotent. */
  destroy(name: string, workspace: string): Promise<void>;
}
