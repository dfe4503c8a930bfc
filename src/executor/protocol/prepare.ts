/** `quarters-executor prepare`: reclaims what a dead job of the same slot left, resolves the layers, opens the job's environment. */
import { isAbsolute, relative, sep } from 'node:path';
import { BaseOsError, BaseOsStore } from '../baseos/store.js';
import { fetchJobRepository } from '../build-set-repository/index.js';
import { SystemFailure } from '../failure.js';
import { makeDir } from '../fs-layers.js';
import { openDirBelow } from '../no-follow.js';
import { resolveHostUser } from '../host-user.js';
import { InstanceStore } from '../instance.js';
import { jobServer } from '../job-server.js';
import { checkGuestIds } from '../guest-ids.js';
import { checkJobTarget } from '../job-target.js';
import { openJobEnvironment } from '../job-lifecycle.js';
import { reclaimWorkspace } from '../reclaim.js';
import { makeProjectCache } from '../project-cache.js';
import type { JobSession } from '../session.js';
import { isAlive, sameProcess } from '../process-identity.js';
import { parentIdentity, readState, workspaceNames, writeState } from '../workspace.js';
import { jobEnvironment } from './guest.js';
import { customEnv } from '../job.js';
import type { HostUser } from '../host-user.js';

/** Prepares the job's environment; throws SystemFailure when the host cannot provide it. */
export async function prepare(session: JobSession): Promise<void> {
  const { layout, job } = session;
  // Before anything else: a job naming another server fails here, having caused no request.
  const server = jobServer(session.config, job);
  checkJobTarget(session.config, job);
  // One job at a time runs in a slot: anything else recorded for it was left by a job that died.
  const runner = parentIdentity();
  for (const name of await workspaceNames(layout)) {
    const state = await readState(layout, name);
    // Without the runner's slot id, another workspace of the same name prefix may belong to a live job.
    if (name !== job.name && !(job.slotIsExclusive && state?.slot === job.slot)) continue;
    // Only the runner that ran a job knows it is over: another runner's live job is never ours to kill.
    if (state?.runner && isAlive(state.runner) && !sameProcess(state.runner, runner)) {
      if (name === job.name) throw new SystemFailure(`workspace ${name} belongs to a job another runner (pid ${state.runner.pid}) is still running`);
      session.log(`quarters: leaving ${name} alone: its runner (pid ${state.runner.pid}) is another one and still running`);
      continue;
    }
    if (name !== job.name) session.log(`quarters: reclaiming ${name}, left behind by an earlier job in this slot`);
    await reclaimWorkspace(session, name);
  }
  const hostUser = resolveHostUser(session.config.host_user);
  if (session.backend.idBase !== null) checkGuestIds(session.backend.idBase, hostUser);
  let base, image;
  try {
    const store = new BaseOsStore(layout);
    base = await store.require();
    image = await session.backend.prepareBase(store, base, session.log);
  } catch (error) {
    if (error instanceof BaseOsError) throw new SystemFailure(error.message);
    throw error;
  }
  const instance = await new InstanceStore(layout, session.config, session.backend).ensure(job.targetBranch, base, image, session.log);

  await makeDir(layout.cache, 0o755);
  await makeProjectCache(layout.cache, job.projectId, hostUser);
  const state = await openJobEnvironment(session, {
    name: job.name, slot: job.slot, jobId: job.id, base: image, instance, hostUser, runner,
    // On the host, before any guest stage; in the workspace, not on the job mount the guest writes.
    fill: (workspace) => fetchJobRepository(session, server, workspace),
  }, (opened) => jobEnvironment(session, opened));
  await makeOwnedPath(state.buildsDir, guestProjectDirOf(session.env, state.buildsDir), hostUser);
  await writeState(layout, { ...state, active: null });
  const { mount } = state;
  session.log(`quarters: ${session.backend.name} environment ${job.name}: base OS ${base.version}, instance ${instance.key} ${instance.version}, target branch ${job.targetBranch}${mount.disk ? `, disk limit ${mount.disk.sizeMib} MiB` : ''}`);
}

/** The project directory the runner will use inside `buildsDir`, or null. */
function guestProjectDirOf(env: NodeJS.ProcessEnv, buildsDir: string): string | null {
  const project = customEnv(env).CI_PROJECT_DIR;
  const inside = project ? relative(buildsDir, project) : '';
  return project && inside && !inside.startsWith('..') && !isAbsolute(inside) ? project : null;
}

/** Creates `path` below `top`, every level owned by the host user and none followed through a link: the guest bind needs it before get_sources, the runner's stages its parent. */
async function makeOwnedPath(top: string, path: string | null, user: HostUser): Promise<void> {
  if (!path) return;
  await (await openDirBelow(top, relative(top, path).split(sep), user, { mode: 0o755 })).close();
}
