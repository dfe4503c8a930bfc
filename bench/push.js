/* global console, process, performance, URL, fetch */
// Benchmark: a push's path from the webhook to created pipelines, on an Arch-size index.
//
// The GitLab double (over real HTTP) holds one project per pkgbase of the Arch dataset
// (../shared/datasets/archlinux-srcinfo: 2,742 .SRCINFO files of archlinuxcn), each with its real
// .SRCINFO; a quarters server (pkgbuild, group layout, x86_64, max_in_flight 4) indexes them all
// (`index sync`, timed) and is then sent pushes: each bumps the pkgrel of ORIGIN's .SRCINFO and
// POSTs GitLab's Push Hook. Timed from the POST to the moment the server has processed the event:
// the new .SRCINFO read from GitLab, the build set planned against the whole index, its iteration
// stored (the previous one superseded, its pipelines cancelled) and the pipelines of the ready builds
// created in GitLab. Also timed: the POST's own answer (202).
// Run: npm run bench:push [-- ROUNDS ORIGIN]   (defaults: 5 and the pkgbase of the largest build set of a few candidates)
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { readTree } from '../dist/cli/input.js';
import { isSrcinfoPath, parseSrcinfoTree } from '../dist/core/recipe/srcinfo.js';
import { planBuildSet } from '../dist/core/graph/plan.js';
import { loadServerHarness } from './support/server-harness.js';

const ROUNDS = Number(process.argv[2] ?? 5);
const CANDIDATES = ['libpng-apng', 'cmake3', 'qt6-base-24h', 'openssl-1.1'];
const archive = fileURLToPath(new URL('../../shared/datasets/archlinux-srcinfo/srcinfo.tar.xz', import.meta.url));
const loads = () => loadavg().map((l) => l.toFixed(2)).join(' ');
const ms = (value) => `${value.toFixed(0)} ms`;

const files = await readTree(archive, isSrcinfoPath);
const { packages } = parseSrcinfoTree(files);
const textOf = new Map();
for (const [i, file] of files.entries()) {
  const pkgbase = packages[i]?.pkgbase ?? /^pkgbase = (.+)$/m.exec(file.text)?.[1];
  if (pkgbase && !textOf.has(pkgbase)) textOf.set(pkgbase, file.text);
}
let origin = process.argv[3];
if (!origin) {
  const sizes = CANDIDATES.flatMap((o) => {
    try {
      return [[o, planBuildSet({ flavour: 'pkgbuild', sources: packages }, { arch: 'x86_64', origins: [o] }).packages.length]];
    } catch {
      return [];
    }
  });
  origin = sizes.sort((a, b) => b[1] - a[1])[0][0];
}

const { startRig, JANE, WEBHOOK_SECRET } = await loadServerHarness();
const rig = await startRig();
try {
  console.log(`push to pipelines on an Arch-size index (${textOf.size} projects with their .SRCINFO in the GitLab double), origin ${origin}, ${ROUNDS} pushes; load average at start ${loads()}`);
  const projects = new Map([...textOf].map(([pkgbase, text]) => [pkgbase, rig.addPackage(pkgbase, text)]));
  let t = performance.now();
  const synced = await rig.server.index.syncAll();
  console.log(`index sync: ${synced.updated.length} recipes indexed in ${ms(performance.now() - t)}; load average ${loads()}`);

  const project = projects.get(origin);
  for (let round = 1; round <= ROUNDS; round++) {
    const text = textOf.get(origin).replace(/^(\tpkgrel = )(\S+)$/m, (_, key, rel) => `${key}${rel}.${round}`);
    const push = rig.gitlab.state.pushFiles(project, { '.SRCINFO': text });
    const body = JSON.stringify(rig.gitlab.pushHookBody(push, JANE));
    const before = rig.gitlab.state.pipelinesOf().length;
    t = performance.now();
    const res = await fetch(`${rig.url}/webhooks/gitlab`, {
      method: 'POST', body,
      headers: { 'Content-Type': 'application/json', 'X-Gitlab-Token': WEBHOOK_SECRET, 'X-Gitlab-Event': 'Push Hook', 'X-Gitlab-Event-UUID': `bench-push-${round}` },
    });
    const answered = performance.now() - t;
    if (res.status !== 202) throw new Error(`the push was answered ${res.status}: ${await res.text()}`);
    await rig.server.drain();
    const done = performance.now() - t;
    const ns = rig.server.store.namespaceByName(`auto-${origin}`);
    const iteration = rig.server.store.latestIteration(ns.id);
    const builds = rig.server.store.builds(iteration.id);
    const created = rig.gitlab.state.pipelinesOf().length - before;
    console.log(`push ${round}: answered 202 in ${ms(answered)}; pipelines created in ${ms(done)} after the POST (iteration ${iteration.number}: ${builds.length} builds, ${created} pipelines created); load average ${loads()}`);
  }
} finally {
  await rig.close();
}
