/**
 * A webhook storm while the server is killed: the built `quarters server`, as its own process, takes
 * thousands of deliveries (a tenth of them sent twice, several at once) and is killed with SIGKILL
 * at random moments and restarted on the same data directory. GitLab retries what was not
 * acknowledged; here the sender does. Every acknowledged delivery is in the inbox once and is
 * processed, nothing stays queued, and the one real change among them makes one pipeline, however
 * often its delivery was sent and the server killed. STORM_DELIVERIES sets the number of distinct
 * deliveries (default 2,000; the soak run is `STORM_DELIVERIES=10000`), STORM_TIMEOUT_S the seconds it may take, STORM_SEED the seed of the shuffle and of the kill
 * schedule (default 7).
 */
import { execa } from 'execa';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGitLabDouble, type GitLabDouble } from '../gitlab-double/index.js';
import { seededRandom } from '../support/seeded-random.js';
import { fixtureText } from './http-harness.js';
import { JANE, srcinfo, WEBHOOK_SECRET } from './server-harness.js';
import { CLI, serverProcess, type ServerProcess } from './server-process.js';

const DISTINCT = Number(process.env.STORM_DELIVERIES ?? 2000);
const SEED = Number(process.env.STORM_SEED ?? 7);
/** Seconds the storm may take: by default 200 ms a delivery, at least 10 minutes. */
const TIMEOUT_S = Number(process.env.STORM_TIMEOUT_S ?? Math.max(600, DISTINCT * 0.2));

describe('a webhook storm with kill -9', () => {
  let gitlab: GitLabDouble;
  let server: ServerProcess;
  let url: string;
  const start = () => server.start();
  const kill = () => server.kill();

  beforeAll(async () => {
    gitlab = await startGitLabDouble();
    server = await serverProcess(gitlab);
    url = server.url;
  });
  afterAll(async () => {
    await server?.kill();
    await gitlab?.close();
  });

  it('acknowledges, keeps and processes every delivery once, and makes one pipeline for the one change', async () => {
    const zlib = gitlab.state.addProject({ path: 'packages/zlib', files: { '.SRCINFO': srcinfo('zlib') } });
    const index = await execa('node', [CLI, 'index', 'sync', '--config', server.config], { reject: false });
    expect(index.exitCode, index.stderr).toBe(0);
    // Everything else is noise the server must store and process without building anything: tag pushes.
    const tag = JSON.parse(fixtureText('tag_push.json')) as Record<string, unknown>;
    const real = gitlab.pushHookBody(gitlab.state.pushFiles(zlib, { '.SRCINFO': srcinfo('zlib', { version: '1.1-1' }) }), JANE);
    const deliveries = Array.from({ length: DISTINCT }, (_, i) => ({
      key: `storm-${i}`,
      kind: i === Math.floor(DISTINCT / 2) ? 'Push Hook' : 'Tag Push Hook',
      body: JSON.stringify(i === Math.floor(DISTINCT / 2) ? real : { ...tag, project_id: zlib.id, checkout_sha: i.toString(16).padStart(40, '0') }),
    }));
    // A tenth sent twice, the second time somewhere later in the storm; the real change three times.
    const sends = [...deliveries, ...deliveries.filter((_, i) => i % 10 === 3), deliveries[Math.floor(DISTINCT / 2)]!, deliveries[Math.floor(DISTINCT / 2)]!];
    const random = seededRandom(SEED);
    process.stderr.write(`storm: ${DISTINCT} distinct deliveries, ${sends.length} sends, STORM_SEED=${SEED}\n`);
    for (let i = sends.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [sends[i], sends[j]] = [sends[j]!, sends[i]!];
    }

    await start();
    const acknowledged = new Set<string>();
    let kills = 0;
    let refused = 0;
    let answered = 0;
    const started = Date.now();
    let stopped = false;
    // The killer: SIGKILL at random moments, then a restart on the same data directory.
    const killer = (async () => {
      while (!stopped) {
        await new Promise((resolve) => setTimeout(resolve, 300 + Math.floor(random() * 900)));
        if (stopped) break;
        await kill();
        kills++;
        await start();
      }
    })();
    let next = 0;
    const sender = async () => {
      while (next < sends.length) {
        const d = sends[next++]!;
        // As GitLab: a delivery that got no 2xx is sent again (with the same UUID) until it does.
        for (let attempt = 0; ; attempt++) {
          const answer = await fetch(`${url}/webhooks/gitlab`, {
            method: 'POST', body: d.body,
            headers: { 'Content-Type': 'application/json', 'X-Gitlab-Token': WEBHOOK_SECRET, 'X-Gitlab-Event': d.kind, 'X-Gitlab-Event-UUID': d.key, 'Idempotency-Key': d.key },
          }).then(async (r) => {
            await r.body?.cancel();
            return r.status;
          }, () => null);
          if (answer !== null && answer >= 200 && answer < 300) {
            acknowledged.add(d.key);
            // A long storm says how far it got, so that one stopped by its timeout still tells something.
            if (++answered % 1000 === 0) process.stderr.write(`storm: ${answered} of ${sends.length} sends answered, ${acknowledged.size} distinct acknowledged, ${kills} kills, ${refused} refused, ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
            break;
          }
          if (answer !== null) throw new Error(`delivery ${d.key} answered ${answer}`);
          refused++;
          await new Promise((resolve) => setTimeout(resolve, 20 + attempt * 10));
        }
      }
    };
    await Promise.all(Array.from({ length: 6 }, sender));
    stopped = true;
    await killer;
    expect(kills).toBeGreaterThan(1);
    expect(acknowledged.size).toBe(DISTINCT);

    // Let the worker finish after the last restart, then look at what it kept.
    let depth = -1;
    for (let i = 0; i < 600 && depth !== 0; i++) {
      const metrics = await (await fetch(`${url}/metrics`)).text();
      depth = Number(/^quarters_inbox_depth\s+(\d+)/m.exec(metrics)?.[1] ?? -1);
      if (depth !== 0) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(depth).toBe(0);
    await kill();
    const db = new Database(join(server.dataDir, 'quarters.sqlite3'), { readonly: true });
    try {
      const rows = db.prepare("SELECT dedupe_key, processed_at, error FROM inbox WHERE dedupe_key LIKE '%storm-%'").all() as { dedupe_key: string; processed_at: string | null; error: string | null }[];
      expect(rows).toHaveLength(DISTINCT);
      expect(rows.filter((r) => r.processed_at === null)).toEqual([]);
      const namespaces = db.prepare('SELECT name FROM namespaces').all() as { name: string }[];
      expect(namespaces.map((n) => n.name)).toEqual(['auto-zlib']);
    } finally {
      db.close();
    }
    await gitlab.state.settled();
    expect(gitlab.state.pipelinesOf(zlib)).toHaveLength(1);
    console.log(`storm: ${sends.length} sends of ${DISTINCT} deliveries in ${((Date.now() - started) / 1000).toFixed(0)} s, ${kills} kills, ${refused} sends refused while the server was down, ${acknowledged.size} acknowledged, 1 pipeline`);
  }, TIMEOUT_S * 1000);
});
