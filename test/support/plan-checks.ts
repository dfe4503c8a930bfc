/** The properties every build-set plan must have, checked independently of how the planner computes it. */
import type { BuildSetPlan } from '../../src/core/graph/plan.js';

/** Every violated property, as a readable line; an empty list for a sound plan. */
export function checkPlan(plan: BuildSetPlan): string[] {
  const problems: string[] = [];
  const byName = new Map(plan.packages.map((p) => [p.pkgbase, p]));
  const origins = new Set(plan.origins);
  if (byName.size !== plan.packages.length) problems.push('a package is listed twice');
  for (const origin of plan.origins) if (!byName.has(origin)) problems.push(`origin ${origin} is not in the set`);

  const inWaves = plan.waves.flat();
  if (inWaves.length !== plan.packages.length) problems.push(`waves hold ${inWaves.length} packages, the set ${plan.packages.length}`);
  plan.waves.forEach((wave, w) => {
    if (wave.length === 0) problems.push(`wave ${w} is empty`);
    for (const name of wave) if (byName.get(name)?.wave !== w) problems.push(`${name} is listed in wave ${w} but says ${byName.get(name)?.wave}`);
  });

  for (const p of plan.packages) {
    for (const q of p.needs) {
      const needed = byName.get(q);
      if (!needed) {
        problems.push(`${p.pkgbase} needs ${q}, which is not in the set`);
        continue;
      }
      const sameCycle = p.cycle !== null && p.cycle === needed.cycle;
      if (sameCycle ? needed.wave !== p.wave : needed.wave >= p.wave) problems.push(`${p.pkgbase} (wave ${p.wave}) needs ${q} (wave ${needed.wave})`);
    }
    if (origins.has(p.pkgbase) !== (p.because === null)) problems.push(`${p.pkgbase}: ${p.because ? 'an origin with' : 'no'} why-chain`);
    const step = p.because;
    if (step && (step.from !== p.pkgbase || !p.needs.includes(step.to))) problems.push(`${p.pkgbase}: why step ${step.from} -> ${step.to} is not one of its edges`);
  }
  // Following `because` from every package must end at an origin: walk each chain once, remembering where it led.
  const endsAtOrigin = new Map<string, boolean>();
  for (const p of plan.packages) {
    const walked = new Set<string>();
    let at: string | undefined = p.pkgbase;
    let good = false;
    while (at !== undefined) {
      const known = endsAtOrigin.get(at);
      if (known !== undefined || origins.has(at)) {
        good = known ?? true;
        break;
      }
      if (walked.has(at)) break;
      walked.add(at);
      at = byName.get(at)?.because?.to;
    }
    for (const name of walked) endsAtOrigin.set(name, good);
    if (!good) problems.push(`${p.pkgbase}: why-chain does not end at an origin`);
  }

  plan.cycles.forEach((cycle, i) => {
    const waves = new Set(cycle.members.map((m) => byName.get(m)?.wave));
    if (waves.size !== 1) problems.push(`cycle ${i} spans waves ${[...waves].join(', ')}`);
    for (const m of cycle.members) if (byName.get(m)?.cycle !== i) problems.push(`${m} does not point back to cycle ${i}`);
    if ([...cycle.buildOrder].sort().join() !== [...cycle.members].sort().join()) problems.push(`cycle ${i}: build order is not a permutation of its members`);
    if (cycle.closingEdges.length === 0) problems.push(`cycle ${i} has no closing edge`);
    for (const e of cycle.closingEdges) {
      if (!cycle.members.includes(e.from) || !cycle.members.includes(e.to)) problems.push(`cycle ${i}: closing edge ${e.from} -> ${e.to} leaves the cycle`);
    }
  });

  if (plan.criticalPath.length !== plan.waves.length) problems.push(`critical path has ${plan.criticalPath.length} units for ${plan.waves.length} waves`);
  plan.criticalPath.forEach((name, i) => {
    if (byName.get(name)?.wave !== i) problems.push(`critical path step ${i} (${name}) is in wave ${byName.get(name)?.wave}`);
  });
  return problems;
}
