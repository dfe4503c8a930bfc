/**
 * The whole system with `[build] cycle_rebuild = "once"`: a two-package dependency cycle is built
 * in the planner's order, then each member once more against the other's new package, through the
 * server, the runner and the real executor (a rig of its own: the setting is the server's).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reportSkip } from '../support/capabilities.js';
import { startSystemRig, systemRigSkipReason, type SystemRig } from '../support/system-rig.js';
import { cycleRecipes, packageFile } from '../support/system-packages.js';

const skip = reportSkip(systemRigSkipReason(), 'the whole system with cycle_rebuild = "once"');

describe.skipIf(skip)('the whole system: a dependency cycle rebuilt once', () => {
  let rig: SystemRig;
  beforeAll(async () => {
    rig = await startSystemRig({ build: { cycle_rebuild: 'once' } });
  }, 900_000);
  afterAll(async () => rig?.close(), 300_000);

  it('builds both members, then both again, each second pass against the other\'s new package', async () => {
    const started = Date.now();
    const [ca] = await rig.addArchPackages(...cycleRecipes('1.0-1'));
    await rig.pushVersion(ca!, cycleRecipes('1.0-2')[0]!);
    const builds = await rig.waitForSettled('auto-ca', 960_000);
    expect(builds.map((b) => `${b.pkgbase}#${b.pass} ${b.state}`).sort(), rig.report()).toEqual(['ca#1 built', 'ca#2 built', 'cb#1 built', 'cb#2 built']);
    const ns = rig.server.store.namespaceByName('auto-ca')!;
    const [cycle] = rig.server.store.latestIteration(ns.id)!.cycles;
    expect(cycle).toMatchObject({ members: ['ca', 'cb'], rebuild: 'once' });
    const [first, second] = cycle!.build_order as [string, string];
    const versionOf = (pkgbase: string) => (pkgbase === 'ca' ? '1.0-2' : '1.0-1');

    // Four pipelines, in order: both first passes, then the second passes.
    const byKey = new Map(builds.map((b) => [`${b.pkgbase}#${b.pass}`, b]));
    const jobOf = (key: string) => rig.runner.job(rig.gitlab.state.pipeline(byKey.get(key)!.pipeline_id!).jobIds[0]!)!;
    expect(jobOf(`${second}#1`).startedAt).toBeGreaterThanOrEqual(jobOf(`${first}#1`).finishedAt!);
    for (const member of [first, second]) expect(jobOf(`${member}#2`).startedAt).toBeGreaterThanOrEqual(jobOf(`${second}#1`).finishedAt!);

    // The first member's first pass saw nothing of the other; its second pass saw the other's new package.
    // Both passes publish the same file name: the repository holds the second pass's package.
    expect(byKey.get(`${first}#1`)!.artifacts[0]!.sha256).not.toBe(byKey.get(`${first}#2`)!.artifacts[0]!.sha256);
    expect(await packageFile(rig, 'auto-ca', byKey.get(`${first}#2`)!, `usr/share/${first}/saw`)).toBe(`${second} ${versionOf(second)}`);
    expect(await packageFile(rig, 'auto-ca', byKey.get(`${second}#2`)!, `usr/share/${second}/saw`)).toBe(`${first} ${versionOf(first)}`);
    process.stderr.write(`cycle rebuilt once through the whole system in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  }, 1_200_000);
});
