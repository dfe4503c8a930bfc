/**
 * A cgroup per container run on hosts without systemd as PID 1 (with systemd, nspawn registers
 * a scope and the limits go in as unit properties instead): it caps memory and CPU and reports
 * the peak memory. Works with cgroup v1 (memory and cpu hierarchies) and v2; where neither lets us
 * create a child group, the run goes ahead unmeasured and unlimited, and says so.
 */
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { readFile, rmdir } from 'node:fs/promises';
import { join } from 'node:path';

export interface CgroupLimits {
  memoryMib: number;
  cpus: number;
  /** Most processes (tasks) the group may hold at once; 0 or absent: no limit. */
  pids?: number;
}

export interface RunCgroup {
  /** The cgroup.procs files a process writes its pid to, to enter the group before it starts the container. */
  procsFiles: string[];
  /** Peak memory of everything that ran in the group, in bytes; null when not known. */
  peakMemoryBytes(): Promise<number | null>;
  /** Removes the (empty) group. */
  remove(): Promise<void>;
}

type Controller = 'memory' | 'cpu' | 'pids';

interface Hierarchy {
  version: 1 | 2;
  /** Our own cgroup's directory in this hierarchy. */
  dir: string;
}

/** Each controller's hierarchy, found once per process: the cgroup mounts and our own cgroup do not change while a command runs, and reading /proc/self/mountinfo and /proc/self/cgroup for every group made or removed was a few ms of each `cleanup`. */
const hierarchies = new Map<Controller, Hierarchy | null>();

/** The directory of this process's cgroup in the hierarchy holding `controller` (v1) or the unified one (v2). */
function hierarchyOf(controller: Controller): Hierarchy | null {
  if (!hierarchies.has(controller)) hierarchies.set(controller, findHierarchy(controller));
  return hierarchies.get(controller)!;
}

function findHierarchy(controller: Controller): Hierarchy | null {
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((line) => {
    const [left, right] = line.split(' - ');
    const f = (left ?? '').split(' ');
    const r = (right ?? '').split(' ');
    return { root: f[3] ?? '', point: f[4] ?? '', type: r[0] ?? '', options: r[2] ?? '' };
  });
  const own = readFileSync('/proc/self/cgroup', 'utf8').split('\n').filter(Boolean).map((line) => {
    const [, controllers, path] = /^\d+:([^:]*):(.*)$/.exec(line) ?? [];
    return { controllers: (controllers ?? '').split(','), path: path ?? '/' };
  });
  const v1 = mounts.find((m) => m.type === 'cgroup' && m.options.split(',').includes(controller));
  const v1Path = own.find((o) => o.controllers.includes(controller))?.path;
  if (v1 && v1Path !== undefined) return { version: 1, dir: join(v1.point, relativeTo(v1Path, v1.root)) };
  const v2 = mounts.find((m) => m.type === 'cgroup2');
  const v2Path = own.find((o) => o.controllers.length === 1 && o.controllers[0] === '')?.path;
  if (v2 && v2Path !== undefined && existsSync(join(v2.point, 'cgroup.controllers')) && readFileSync(join(v2.point, 'cgroup.controllers'), 'utf8').includes(controller)) {
    return { version: 2, dir: join(v2.point, relativeTo(v2Path, v2.root)) };
  }
  return null;
}

function relativeTo(path: string, root: string): string {
  return root !== '/' && path.startsWith(root) ? path.slice(root.length) : path;
}

/** Creates the groups of one run (or takes them as they are, when a run of the same name made them); null when this host offers no usable cgroup (the reason goes to `log`). */
export async function createRunCgroup(name: string, limits: CgroupLimits, log: (line: string) => void = () => {}): Promise<RunCgroup | null> {
  const created: string[] = [];
  const procsFiles: string[] = [];
  let memoryDir: { dir: string; version: 1 | 2 } | null = null;
  try {
    const memory = hierarchyOf('memory');
    if (!memory) throw new Error('no memory cgroup hierarchy');
    const dir = join(memory.dir, `quarters-${name}`);
    mkdirSync(dir, { recursive: true });
    created.push(dir);
    memoryDir = { dir, version: memory.version };
    if (limits.memoryMib > 0) writeFileSync(join(dir, memory.version === 1 ? 'memory.limit_in_bytes' : 'memory.max'), String(limits.memoryMib * 1024 * 1024));
    procsFiles.push(join(dir, 'cgroup.procs'));
    // v1 keeps each controller in a hierarchy of its own: a group there too, joined by the same process.
    const groupFor = async (controller: Controller): Promise<string> => {
      if (memory.version === 2) return dir;
      const hierarchy = hierarchyOf(controller);
      if (!hierarchy) throw new Error(`no ${controller} cgroup hierarchy for the ${controller} limit`);
      const other = join(hierarchy.dir, `quarters-${name}`);
      if (other !== dir && !created.includes(other)) {
        mkdirSync(other, { recursive: true });
        created.push(other);
        procsFiles.push(join(other, 'cgroup.procs'));
      }
      return other;
    };
    if (limits.cpus > 0) {
      const periodUs = 100_000;
      const quotaUs = Math.round(limits.cpus * periodUs);
      const cpuDir = await groupFor('cpu');
      if (memory.version === 2) writeFileSync(join(cpuDir, 'cpu.max'), `${quotaUs} ${periodUs}`);
      else {
        writeFileSync(join(cpuDir, 'cpu.cfs_period_us'), String(periodUs));
        writeFileSync(join(cpuDir, 'cpu.cfs_quota_us'), String(quotaUs));
      }
    }
    if (limits.pids) writeFileSync(join(await groupFor('pids'), 'pids.max'), String(limits.pids));
  } catch (error) {
    for (const dir of created.reverse()) await rmdir(dir).catch(() => undefined);
    log(`quarters: no cgroup for ${name} (${(error as Error).message}): peak memory not measured${limits.memoryMib || limits.cpus || limits.pids ? ', limits not applied' : ''}`);
    return null;
  }
  const measured = memoryDir;
  return {
    procsFiles,
    async peakMemoryBytes() {
      const file = join(measured.dir, measured.version === 1 ? 'memory.max_usage_in_bytes' : 'memory.peak');
      const value = Number.parseInt(await readFile(file, 'utf8').catch(() => ''), 10);
      return Number.isFinite(value) ? value : null;
    },
    async remove() {
      for (const dir of created.reverse()) await rmdir(dir).catch(() => undefined);
    },
  };
}

/** Removes the groups a run of `name` left behind (after a kill -9); they are empty once its processes are gone. */
export async function removeRunCgroups(name: string): Promise<void> {
  for (const controller of ['memory', 'cpu', 'pids'] as const) {
    const hierarchy = (() => {
      try {
        return hierarchyOf(controller);
      } catch {
        return null;
      }
    })();
    try {
      if (hierarchy) rmdirSync(join(hierarchy.dir, `quarters-${name}`));
    } catch {
      // None there.
    }
  }
}
