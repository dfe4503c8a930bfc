/**
 * Dependency cycles in a server build set: the members build in the planner's order with the closing
 * edge left to the distribution (no build waits for itself), the iteration records the cut edge,
 * and with `cycle_rebuild = "once"` every member is built a second time after the whole cycle.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startRig, srcinfo, type Rig } from './server-harness.js';

const JANE = { id: 7, username: 'jane', name: 'Jane Packager', email: 'jane@example.org' };

/** ca and cb need each other; cc needs ca. A push to ca starts auto-ca. */
async function cycle(rig: Rig): Promise<void> {
  const ca = rig.addPackage('ca', srcinfo('ca', { depends: ['cb'] }));
  rig.addPackage('cb', srcinfo('cb', { depends: ['ca'] }));
  rig.addPackage('cc', srcinfo('cc', { depends: ['ca'] }));
  await rig.server.index.syncAll();
  await rig.deliver('Push Hook', rig.gitlab.pushHookBody(rig.gitlab.state.pushFiles(ca, { '.SRCINFO': srcinfo('ca', { version: '2-1', depends: ['cb'] }) }), JANE));
}

/** The latest iteration's builds as "pkgbase#pass": state. */
function states(rig: Rig, name: string): Record<string, string> {
  const ns = rig.server.store.namespaceByName(name)!;
  return Object.fromEntries(rig.server.store.builds(rig.server.store.latestIteration(ns.id)!.id).map((b) => [`${b.pkgbase}#${b.pass}`, b.state]));
}

/** Finishes, with success, the one pipeline the server is waiting on, and returns its build's "pkgbase#pass". */
async function finishNext(rig: Rig, name: string): Promise<string> {
  const ns = rig.server.store.namespaceByName(name)!;
  const builds = rig.server.store.builds(rig.server.store.latestIteration(ns.id)!.id).filter((b) => b.state === 'dispatched');
  expect(builds, JSON.stringify(states(rig, name))).toHaveLength(1);
  await rig.gitlab.state.finishPipeline(builds[0]!.pipeline_id!, 'success');
  await rig.server.drain();
  return `${builds[0]!.pkgbase}#${builds[0]!.pass}`;
}

describe('dependency cycles in a server build set', () => {
  let rig: Rig;
  afterEach(async () => rig?.close());

  it('builds the members in the planner order, one after the other, and records the edge it cut', async () => {
    rig = await startRig({ build: { max_in_flight: 1 } });
    await cycle(rig);
    const ns = rig.server.store.namespaceByName('auto-ca')!;
    const iteration = rig.server.store.latestIteration(ns.id)!;
    expect(iteration.cycles).toHaveLength(1);
    const [found] = iteration.cycles;
    expect(found).toMatchObject({ arch: 'x86_64', members: ['ca', 'cb'], rebuild: 'none' });
    expect(found!.cut_edges).toHaveLength(1);
    const first = found!.build_order[0]!;
    // The cut edge is the first member's need of the other: it is satisfied from the distribution.
    expect(found!.cut_edges[0]).toEqual({ from: first, to: found!.build_order[1] });
    expect(Object.values(states(rig, 'auto-ca')).filter((s) => s === 'dispatched')).toHaveLength(1);

    const order = [await finishNext(rig, 'auto-ca'), await finishNext(rig, 'auto-ca'), await finishNext(rig, 'auto-ca')];
    // The first member first, against the distribution's other member; then the rest (cb and cc each need only ca).
    expect(order[0]).toBe(`${first}#1`);
    expect([...order].sort()).toEqual(['ca#1', 'cb#1', 'cc#1']);
    expect(states(rig, 'auto-ca')).toEqual({ 'ca#1': 'built', 'cb#1': 'built', 'cc#1': 'built' });

    // The API shows the cycle with its cut edge.
    const shown = (await (await fetch(`${rig.url}/api/v1/namespaces/auto-ca/iterations/1`)).json()) as { cycles: unknown[] };
    expect(shown.cycles).toEqual([found]);
  });

  it('with cycle_rebuild = "once", builds each member again against the other, before its dependants', async () => {
    rig = await startRig({ build: { max_in_flight: 1, cycle_rebuild: 'once' } });
    await cycle(rig);
    const ns = rig.server.store.namespaceByName('auto-ca')!;
    const [found] = rig.server.store.latestIteration(ns.id)!.cycles;
    expect(found!.rebuild).toBe('once');
    const order: string[] = [];
    for (let i = 0; i < 5; i++) order.push(await finishNext(rig, 'auto-ca'));
    const [x, y] = found!.build_order;
    // Both first passes, then the second passes; cc waits for the second pass of ca, which it needs.
    expect(order.slice(0, 2)).toEqual([`${x}#1`, `${y}#1`]);
    expect(order.slice(2).sort()).toEqual(['ca#2', 'cb#2', 'cc#1']);
    expect(order.indexOf('cc#1')).toBeGreaterThan(order.indexOf('ca#2'));
    expect(Object.values(states(rig, 'auto-ca'))).toEqual(['built', 'built', 'built', 'built', 'built']);
    // Every build had its own pipeline, with its own build id.
    const ids = rig.gitlab.state.pipelinesOf().map((p) => p.variables.find((v) => v.key === 'QUARTERS_BUILD_ID')!.value);
    expect(new Set(ids).size).toBe(5);
    const graph = (await (await fetch(`${rig.url}/api/v1/namespaces/auto-ca/graph`)).json()) as { nodes: { pkgbase: string; pass: number }[] };
    expect(graph.nodes.filter((n) => n.pass === 2).map((n) => n.pkgbase).sort()).toEqual(['ca', 'cb']);
  });
});
