import { afterEach, describe, expect, it } from 'vitest';
import { BUILD_ID_VARIABLE } from '../../src/server/gitlab/client.js';
import { JANE, srcinfo, startRig, type Rig } from './server-harness.js';

/** The build ids of a project's pipelines, one entry per pipeline. */
const buildIdsOf = (rig: Rig, project: Parameters<Rig['gitlab']['state']['pipelinesOf']>[0]) =>
  rig.gitlab.state.pipelinesOf(project).filter((p) => p.status !== 'canceled').map((p) => p.variables.find((v) => v.key === BUILD_ID_VARIABLE)!.value);

describe('a lost answer to "create pipeline"', () => {
  let rig: Rig | undefined;
  afterEach(async () => rig?.close());

  it.each([
    ['GitLab creates it only after the attempt timed out', { delayMs: 1_500 }],
    ['GitLab creates it at once and the answer comes too late', { delayMs: 1_500, phase: 'after' as const }],
  ])('makes exactly one pipeline per build when %s', async (_what, fault) => {
    rig = await startRig({ gitlabRetry: { attemptTimeoutMs: 500, landingWaitMs: 5_000 } });
    const zlib = rig.addPackage('zlib', srcinfo('zlib'));
    const png = rig.addPackage('libpng', srcinfo('libpng'));
    await rig.server.index.syncAll();
    rig.gitlab.faults.inject({ route: 'POST /projects/:id/pipeline', times: 2, ...fault });
    await rig.deliver('Push Hook', rig.gitlab.pushHookBody(rig.gitlab.state.pushFiles(zlib, { '.SRCINFO': srcinfo('zlib', { version: '1.1-1' }) }), JANE));
    await rig.deliver('Push Hook', rig.gitlab.pushHookBody(rig.gitlab.state.pushFiles(png, { '.SRCINFO': srcinfo('libpng', { version: '2-1' }) }), JANE));
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    await rig.gitlab.state.settled();
    for (const [project, name] of [[zlib, 'auto-zlib'], [png, 'auto-libpng']] as const) {
      const ns = rig.server.store.namespaceByName(name)!;
      const [build] = rig.server.store.builds(rig.server.store.latestIteration(ns.id)!.id);
      expect(buildIdsOf(rig, project)).toEqual([String(build!.id)]);
      expect(build!.pipeline_id).toBe(rig.gitlab.state.pipelinesOf(project)[0]!.id);
    }
  });
});
