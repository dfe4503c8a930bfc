/**
 * The REST client commands: `quarters ns new|list|show|graph|cancel|resume|retry|release|releases|bump` (build sets) and
 * `quarters build show|log ID` (one build). Each reads the server and token with clientSettings.
 */
import { SETTLED } from '../core/build-state.js';
import { ApiClient } from './client/api.js';
import { clientSettings, requireToken, type ClientFlags } from './client/config.js';
import { graphDot, graphTree } from './client/graph-text.js';
import { buildsTable, printJson, releaseDiffText, table, type BuildDetailOut, type BuildOut, type BumpOut, type GraphOut, type NamespaceOut, type ReleaseOut, type ReleaseOutcomeOut } from './client/views.js';
import { UsageError } from './command.js';

export interface ReadFlags extends ClientFlags {
  json?: boolean;
}

const print = (text: string) => process.stdout.write(`${text}\n`);
const client = async (flags: ClientFlags) => new ApiClient(await clientSettings(flags));
const path = (name: string) => `/namespaces/${encodeURIComponent(name)}`;

function stateCounts(states: Record<string, number> | undefined): string {
  return Object.entries(states ?? {}).map(([s, k]) => `${s}=${k}`).join(' ');
}

/** `ns list`: one line per build set: name, status, latest iteration, its builds per state. */
export async function nsList(flags: ReadFlags): Promise<number> {
  const answer = await (await client(flags)).get<{ namespaces: Omit<NamespaceOut, 'builds'>[] }>('/namespaces');
  if (flags.json) printJson(answer);
  else if (answer.namespaces.length > 0) print(answer.namespaces.map((n) => `${n.name}  ${n.status}  iteration ${n.iteration?.number ?? '-'}  ${stateCounts(n.iteration?.states)}`.trimEnd()).join('\n'));
  return 0;
}

/** `ns show NAME`: the latest iteration's builds, those of one architecture or state with --arch, --state. */
export async function nsShow(name: string, flags: ReadFlags & { arch?: string; state?: string }): Promise<number> {
  const answer = await (await client(flags)).get<NamespaceOut>(path(name));
  const builds = (answer.builds ?? []).filter((b) => (flags.arch === undefined || b.arch === flags.arch) && (flags.state === undefined || b.state === flags.state));
  if (flags.json) printJson({ ...answer, builds });
  else print(`${answer.name}, iteration ${answer.iteration?.number ?? '-'}\n${buildsTable(builds)}`);
  return 0;
}

/** `ns new [--name N] PKGBASE@REF...` (alias `ns create`): a build set planned and dispatched by the server. */
export async function nsNew(origins: string[], flags: ReadFlags & { name?: string; packager?: string }): Promise<number> {
  if (origins.length === 0) throw new UsageError('ns new: give at least one PKGBASE@REF');
  const settings = await clientSettings(flags);
  requireToken(settings, 'ns new');
  const body = { origin_changesets: origins, ...(flags.name !== undefined ? { name: flags.name } : {}), ...(flags.packager !== undefined ? { packager: flags.packager } : {}) };
  const answer = await new ApiClient(settings).post<NamespaceOut>('/namespaces', body);
  if (flags.json) printJson(answer);
  else print(`created ${answer.name}\n${buildsTable(answer.builds ?? [])}`);
  return 0;
}

/** `ns graph NAME`: what each build needs, as a tree, or Graphviz DOT with --dot. */
export async function nsGraph(name: string, flags: ReadFlags & { dot?: boolean }): Promise<number> {
  const answer = await (await client(flags)).get<GraphOut>(`${path(name)}/graph`);
  if (flags.json) printJson(answer);
  else if (flags.dot) print(graphDot(name, answer));
  else if (answer.nodes.length > 0) print(graphTree(answer));
  return 0;
}

/** `ns cancel|resume|retry NAME [PKGBASE...]`: the server's controls, on the whole set or the named pkgbases; prints the set after. */
export async function nsControl(action: 'cancel' | 'resume' | 'retry', name: string, pkgbases: string[], flags: ReadFlags): Promise<number> {
  const settings = await clientSettings(flags);
  requireToken(settings, `ns ${action}`);
  const answer = await new ApiClient(settings).post<NamespaceOut>(`${path(name)}/${action}`, pkgbases.length > 0 ? { pkgbases } : undefined);
  if (flags.json) printJson(answer);
  else print(`${answer.name}: ${answer.status}, iteration ${answer.iteration?.number ?? '-'}\n${buildsTable(answer.builds ?? [])}`);
  return 0;
}

function buildId(text: string): string {
  if (!/^[1-9]\d{0,15}$/.test(text)) throw new UsageError(`"${text}" is not a build id (a positive integer, the ID column of ns show)`);
  return text;
}

/** `build show ID`: one build, as `key: value` lines. */
export async function buildShow(id: string, flags: ReadFlags): Promise<number> {
  const b = await (await client(flags)).get<BuildDetailOut>(`/builds/${buildId(id)}`);
  if (flags.json) {
    printJson(b);
    return 0;
  }
  const usage = b.resource_usage;
  const rows: [string, string | number | null | undefined][] = [
    ['build', b.id], ['build set', `${b.namespace}, iteration ${b.iteration}`], ['pkgbase', b.pkgbase], ['arch', b.arch],
    ['version', b.version], ['state', b.state], ['reason', b.reason], ['pass', b.pass > 1 ? b.pass : null], ['packager', b.packager],
    ['project', b.project], ['ref', b.ref], ['commit', b.commit ?? b.sha], ['pipeline', b.pipeline_url ?? b.pipeline_id],
    ['started', b.started_at], ['finished', b.finished_at], ['duration', b.duration_seconds === null ? null : `${b.duration_seconds} s`],
    ['resources', usage ? `${usage.wall_seconds} s wall, ${usage.cpu_seconds} s CPU${usage.peak_memory_bytes === null ? '' : `, ${Math.round(usage.peak_memory_bytes / 2 ** 20)} MiB peak`}` : null],
  ];
  const lines = table(rows.filter(([, v]) => v !== null && v !== undefined && v !== '').map(([k, v]) => [`${k}:`, String(v)]));
  const artifacts = b.artifacts.map((a: BuildOut['artifacts'][number]) => `  ${a.filename}  ${a.size} bytes  sha256 ${a.sha256}`);
  print([lines, ...(artifacts.length > 0 ? ['artifacts:', ...artifacts] : [])].join('\n'));
  return 0;
}

/** `build log ID`: a local build's stored log on stdout; for a GitLab build, the URL of its job (or pipeline). */
export async function buildLog(id: string, flags: ReadFlags): Promise<number> {
  const res = await (await client(flags)).send('GET', `/builds/${buildId(id)}/log`);
  const location = res.status >= 300 ? res.headers.get('Location') : null;
  if (location !== null) {
    if (flags.json) printJson({ build: Number(id), url: location, log: null });
    else print(location);
    return 0;
  }
  const text = await res.text();
  if (flags.json) printJson({ build: Number(id), url: null, log: text });
  else process.stdout.write(text);
  return 0;
}

/**
 * `ns watch NAME`: a line per build whose state changed (and per new iteration) until every build of
 * the latest iteration has settled; 0 when all are built, 1 otherwise. Polls GET /namespaces/{name}.
 */
export async function nsWatch(name: string, flags: ReadFlags & { interval?: string }): Promise<number> {
  const seconds = Number(flags.interval ?? '5');
  if (!(seconds >= 0.1 && seconds <= 3600)) throw new UsageError(`ns watch: --interval is seconds from 0.1 to 3600, not "${flags.interval}"`);
  const api = await client(flags);
  const started = Date.now();
  const clock = () => {
    const s = Math.floor((Date.now() - started) / 1000);
    return `[${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}]`;
  };
  const seen = new Map<number, string>();
  let iteration: number | null | undefined;
  for (;;) {
    const answer = await api.get<NamespaceOut>(path(name));
    const builds = answer.builds ?? [];
    if (answer.iteration?.number !== iteration) {
      iteration = answer.iteration?.number;
      seen.clear();
      print(`${clock()} ${answer.name}: iteration ${iteration ?? '-'}, ${builds.length} builds`);
    }
    for (const b of builds) {
      if (seen.get(b.id) === b.state) continue;
      seen.set(b.id, b.state);
      print(`${clock()} ${b.pkgbase}/${b.arch} ${b.state}${b.reason ? `: ${b.reason}` : ''}`);
    }
    if (builds.every((b) => SETTLED.includes(b.state))) {
      print(`${clock()} ${answer.name}: settled: ${stateCounts(answer.iteration?.states) || 'no builds'}`);
      return builds.every((b) => b.state === 'built') ? 0 : 1;
    }
    await new Promise((done) => setTimeout(done, seconds * 1000));
  }
}

/** `ns release NAME --to REPO [--partial PKGBASE...] [--dry-run] [--force]`: promotes the build set into a distribution repository; prints the diff. */
export async function nsRelease(name: string, flags: ReadFlags & { to: string; partial?: string[]; dryRun?: boolean; force?: boolean }): Promise<number> {
  const settings = await clientSettings(flags);
  requireToken(settings, 'ns release');
  const body = { to: flags.to, ...(flags.partial?.length ? { partial: flags.partial } : {}), ...(flags.dryRun ? { dry_run: true } : {}), ...(flags.force ? { force: true } : {}) };
  const answer = await new ApiClient(settings).post<ReleaseOutcomeOut>(`${path(name)}/release`, body);
  if (flags.json) {
    printJson(answer);
    return 0;
  }
  const head = `${answer.namespace} (iteration ${answer.iteration}) into ${answer.repository}`;
  const tail = answer.release ? `released: release ${answer.release.id}, by ${answer.release.actor}, at ${answer.release.finished_at ?? answer.release.started_at}` : 'dry run: nothing was changed';
  print([head, releaseDiffText(answer.diffs), tail].join('\n'));
  return 0;
}

/** `ns releases [NAME] [--to REPO]`: the releases, newest first (of one build set, into one repository). */
export async function nsReleases(name: string | undefined, flags: ReadFlags & { to?: string }): Promise<number> {
  const query = new URLSearchParams({ ...(name !== undefined ? { namespace: name } : {}), ...(flags.to !== undefined ? { repository: flags.to } : {}) }).toString();
  const answer = await (await client(flags)).get<{ releases: ReleaseOut[] }>(`/releases${query ? `?${query}` : ''}`);
  if (flags.json) printJson(answer);
  else if (answer.releases.length > 0) {
    const count = (r: ReleaseOut) => {
      const n = (k: 'added' | 'upgraded' | 'downgraded' | 'removed') => r.changes.reduce((sum, d) => sum + d[k].length, 0);
      return `+${n('added')} ↑${n('upgraded')} ↓${n('downgraded')} -${n('removed')}`;
    };
    print(table([['ID', 'REPOSITORY', 'BUILD SET', 'ITERATION', 'STATE', 'CHANGES', 'BY', 'AT'], ...answer.releases.map((r) => [String(r.id), r.repository, r.namespace, String(r.iteration), `${r.state}${r.forced ? ' (forced)' : ''}`, count(r), r.actor, r.started_at])]));
  }
  return 0;
}

/** `ns install NAME`: how to use the build set's repository (pacman.conf section or sources.list lines, the signing key's import first when it is signed). */
export async function nsInstall(name: string, flags: ReadFlags): Promise<number> {
  const answer = await (await client(flags)).get<{ repository_url: string; snippet: string; signing_key: { url: string; fingerprint: string } | null }>(`${path(name)}/install`);
  if (flags.json) printJson(answer);
  // The snippet is Markdown (the merge request note's): its fences are left out on a terminal.
  else print(answer.snippet.split('\n').filter((line) => !line.startsWith('```')).join('\n'));
  return 0;
}

/**
 * `ns bump NAME --reason TEXT [--maintainer WHO] [--no-wait]`: opens (or finds, or resumes) one merge request
 * per repository bumping the release of the packages the build set rebuilds; prints each repository's
 * progress until none is pending. Exit 1 when a repository failed (run it again to resume).
 */
export async function nsBump(name: string, flags: ReadFlags & { reason: string; maintainer?: string; wait?: boolean; interval?: string }): Promise<number> {
  const seconds = Number(flags.interval ?? '1');
  if (!(seconds >= 0.1 && seconds <= 3600)) throw new UsageError(`ns bump: --interval is seconds from 0.1 to 3600, not "${flags.interval}"`);
  const settings = await clientSettings(flags);
  requireToken(settings, 'ns bump');
  const api = new ApiClient(settings);
  let answer = await api.post<BumpOut>(`${path(name)}/bump`, { reason: flags.reason, ...(flags.maintainer !== undefined ? { maintainer: flags.maintainer } : {}) });
  if (!flags.json) print(`${answer.namespace}: bump of iteration ${answer.iteration} (${answer.reason}), branch ${answer.branch}, ${answer.repositories.length} repositories`);
  const seen = new Map<number, string>();
  const report = (view: BumpOut) => {
    for (const r of view.repositories) {
      const line = `${r.state}${r.merge_request ? ` !${r.merge_request.iid} ${r.merge_request.url ?? ''}`.trimEnd() : ''}${r.error ? `: ${r.error}` : ''}`;
      if (seen.get(r.project_id) === line) continue;
      seen.set(r.project_id, line);
      if (!flags.json && r.state !== 'pending') print(`${r.project}  ${line}`);
    }
  };
  report(answer);
  while (flags.wait !== false && answer.state === 'running') {
    await new Promise((done) => setTimeout(done, seconds * 1000));
    answer = await api.get<BumpOut>(`${path(name)}/bump`);
    report(answer);
  }
  const c = answer.counts;
  if (flags.json) printJson(answer);
  else print(`${answer.namespace}: ${answer.state}: opened=${c.opened} merged=${c.merged} closed=${c.closed} failed=${c.failed} pending=${c.pending}${c.failed ? ' (run the same command again to resume)' : ''}`);
  return c.failed > 0 ? 1 : 0;
}
