/**
 * What packagers see in GitLab as a build set progresses: the merge request's one note and a commit
 * status per architecture, reported through the throttle (a manual clock steps through it).
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { ReportClock } from '../../src/server/build-sets/progress-reporter.js';
import type { DoubleProject } from '../gitlab-double/index.js';
import { JANE, WEBHOOK_SECRET, chain, srcinfo, startRig, statesOf, type Rig } from './server-harness.js';

/** The reporter's least interval between two reports of one build set, in the tests' clock. */
const INTERVAL_MS = 20_000;

/** Time that moves only when the test says, running the timers that come due. */
class ManualClock implements ReportClock {
  private time = 1_000_000;
  private next = 1;
  private readonly timers = new Map<number, { at: number; run: () => void }>();
  now = () => this.time;
  setTimeout = (run: () => void, ms: number): unknown => {
    const id = this.next++;
    this.timers.set(id, { at: this.time + ms, run });
    return id;
  };
  clearTimeout = (handle: unknown): void => {
    this.timers.delete(handle as number);
  };
  /** Moves on by `ms`, running each timer due by then at its time. */
  advance(ms: number): void {
    const end = this.time + ms;
    for (;;) {
      const due = [...this.timers].filter(([, t]) => t.at <= end).sort((a, b) => a[1].at - b[1].at)[0];
      if (!due) break;
      this.timers.delete(due[0]);
      this.time = Math.max(this.time, due[1].at);
      due[1].run();
    }
    this.time = end;
  }
}

/** Requests to the double that changed something: note writes and status posts. */
function writes(rig: Rig) {
  const ok = rig.gitlab.requests.filter((r) => r.status < 300);
  return {
    noteCreates: ok.filter((r) => r.method === 'POST' && /\/merge_requests\/\d+\/notes$/.test(r.url)).length,
    noteEdits: ok.filter((r) => r.method === 'PUT' && /\/merge_requests\/\d+\/notes\/\d+$/.test(r.url)).length,
    statusPosts: ok.filter((r) => r.method === 'POST' && /\/statuses\/[0-9a-f]+$/.test(r.url)).length,
  };
}

/** GitLab sends Job Hooks too, as docs/administrator.md's GitLab setup asks. */
const withJobHooks = (rig: Rig) => rig.gitlab.setPipelineHook({ url: `${rig.url}/webhooks/gitlab`, secret: WEBHOOK_SECRET, jobEvents: true });

/** The states a commit's status of `name` was set to, oldest first. */
const history = (rig: Rig, project: DoubleProject, sha: string, name: string) =>
  rig.gitlab.state.commitStatusesOf(project, sha, { all: true }).filter((s) => s.name === name).flatMap((s) => s.requested);

describe('build set progress in GitLab', () => {
  let rig: Rig;
  afterEach(async () => rig?.close());

  it('keeps one note and one status per architecture on a merge request up to date, through a failure and a retry, with a bounded number of writes', async () => {
    const clock = new ManualClock();
    rig = await startRig({ progress: { intervalMs: INTERVAL_MS, clock } });
    withJobHooks(rig);
    const zlib = rig.addPackage('zlib', srcinfo('zlib'));
    const dependants = Array.from({ length: 29 }, (_, i) => `dep${String(i).padStart(2, '0')}`);
    for (const d of dependants) rig.addPackage(d, srcinfo(d, { depends: ['zlib'] }));
    await rig.server.index.syncAll();
    rig.gitlab.state.pushFiles(zlib, { '.SRCINFO': srcinfo('zlib', { version: '2-1' }) }, { branch: 'update-zlib' });
    const head = zlib.repository.branches.get('update-zlib')!;
    const mr = rig.gitlab.state.addMergeRequest(zlib, { sourceBranch: 'update-zlib' });
    await rig.deliver('Merge Request Hook', rig.gitlab.mergeRequestHookBody(zlib, mr, 'open'));
    const name = `mr-${zlib.id}-${mr.iid}`;
    const ns = rig.server.store.namespaceByName(name)!;
    const progress = rig.server.progress;
    await progress.idle();

    // At once on opening: the note with what will be rebuilt, and the commit's status.
    const note = () => {
      const notes = rig.gitlab.state.mergeRequestNotes(zlib, mr.iid);
      expect(notes).toHaveLength(1);
      return notes[0]!.body;
    };
    expect(note()).toContain('| x86_64 | 30 | 0 | 1 | 29 | 0 | 0 |');
    expect(note()).toContain(`build set [\`${name}\`](http://quarters.test/ui/namespaces/${name}) (iteration 1): **running**`);
    expect(note()).toContain(`Server = http://quarters.test/repos/${name}/latest/$arch`);
    const status = () => rig.gitlab.state.commitStatusesOf(zlib, head).find((s) => s.name === 'quarters/x86_64')!;
    expect(status()).toMatchObject({ status: 'running', ref: 'update-zlib', targetUrl: `http://quarters.test/ui/namespaces/${name}`, description: '0/30 built, 1 building, 29 waiting' });

    // Every pipeline the set makes runs to its end, 2 s apart; dep07's fails.
    let steps = 0;
    const runPipelines = async () => {
      for (;;) {
        // By their jobs: quarters' running status is a job of the origin's pipeline and holds it at running.
        const pending = rig.gitlab.state.pipelinesOf().filter((p) => rig.gitlab.state.jobsOf(p.id).some((j) => j.status === 'pending'));
        if (pending.length === 0) return;
        for (const pipeline of pending) {
          const pkgbase = pipeline.variables.find((v) => v.key === 'QUARTERS_PKGBASE')!.value;
          await rig.gitlab.state.finishPipeline(pipeline.id, pkgbase === 'dep07' && steps < 100 ? 'failed' : 'success');
          await rig.server.drain();
          clock.advance(2_000);
          steps += 1;
          await progress.idle();
        }
      }
    };
    await runPipelines();
    expect(statesOf(rig, name).dep07).toBe('failed');
    // Settled with a failure: reported at once, without waiting for the interval.
    expect(status()).toMatchObject({ status: 'failed', description: '29/30 built, 1 failed' });
    const failedPipeline = rig.server.store.builds(rig.server.store.latestIteration(ns.id)!.id).find((b) => b.pkgbase === 'dep07')!;
    expect(note()).toContain(`- \`dep07/x86_64\`: pipeline ${failedPipeline.pipeline_id} failed ([pipeline](${failedPipeline.pipeline_url}))`);
    expect(note()).toContain('**failed**');

    // The packager retries it; it succeeds this time.
    steps = 100;
    await rig.server.control.retry(ns.id);
    await rig.server.drain();
    await progress.idle();
    await runPipelines();
    await progress.idle();
    expect(Object.values(statesOf(rig, name)).every((s) => s === 'built')).toBe(true);

    expect(note()).toContain('| x86_64 | 30 | 30 | 0 | 0 | 0 | 0 |');
    expect(note()).toContain('**success**');
    expect(note()).not.toContain('**Failed**');
    expect(status()).toMatchObject({ status: 'success', description: '30/30 built' });
    // The retried build finished within the interval: its `running` was coalesced away.
    expect(history(rig, zlib, head, 'quarters/x86_64')).toEqual(['running', 'failed', 'success']);

    // Writes: the note at most once per interval of the run, plus at opening and at each settling (2).
    const elapsed = clock.now() - 1_000_000;
    const counted = writes(rig);
    expect(counted.noteCreates).toBe(1);
    const bound = 1 + Math.floor(elapsed / INTERVAL_MS) + 1 + 2;
    expect(counted.noteEdits).toBeLessThanOrEqual(bound);
    expect(counted.statusPosts).toBe(3);
    // A report per build move would have written far more: each of 30 builds moved at least three times.
    expect(bound).toBeLessThan(30);
  });

  it('reports a push build set on the pushed commit, tries again after GitLab failures without holding up builds, and repeats nothing after a restart', async () => {
    const clock = new ManualClock();
    rig = await startRig({ progress: { intervalMs: INTERVAL_MS, clock } });
    withJobHooks(rig);
    const { zlib } = await chain(rig);
    rig.gitlab.faults.inject({ route: 'POST /projects/:id/statuses/:sha', respond: 500, times: 8 });
    const push = rig.gitlab.state.pushFiles(zlib, { '.SRCINFO': srcinfo('zlib', { version: '1.1-1' }) });
    await rig.deliver('Push Hook', rig.gitlab.pushHookBody(push, JANE));
    await rig.server.progress.idle();
    // GitLab refused the status; the build went on regardless.
    expect(statesOf(rig, 'auto-zlib')).toEqual({ zlib: 'dispatched', libpng: 'blocked', cairo: 'blocked' });
    expect(history(rig, zlib, push.after, 'quarters/x86_64')).toEqual([]);
    for (let i = 0; i < 4 && history(rig, zlib, push.after, 'quarters/x86_64').length === 0; i += 1) {
      clock.advance(INTERVAL_MS * 2 ** i);
      await rig.server.progress.idle();
    }
    expect(history(rig, zlib, push.after, 'quarters/x86_64')).toEqual(['running']);

    const [first] = rig.gitlab.state.pipelinesOf(zlib);
    await rig.gitlab.state.finishPipeline(first!.id, 'success');
    await rig.server.drain();
    // GitLab made the status a job of zlib's pipeline, which it holds at running: the build's own job decides.
    expect(rig.gitlab.state.commitStatusesOf(zlib, push.after)[0]!.pipelineId).toBe(first!.id);
    expect(rig.gitlab.state.pipeline(first!.id).status).toBe('running');
    expect(statesOf(rig, 'auto-zlib')).toEqual({ zlib: 'built', libpng: 'dispatched', cairo: 'blocked' });
    const before = writes(rig).statusPosts;
    await rig.restart();
    withJobHooks(rig);
    await rig.server.progress.idle();
    // The status GitLab has is read back, not posted again.
    expect(writes(rig).statusPosts).toBe(before);

    for (const pkgbase of ['libpng', 'cairo']) {
      const pipeline = rig.gitlab.state.pipelinesOf().find((p) => p.status === 'pending' && p.variables.some((v) => v.key === 'QUARTERS_PKGBASE' && v.value === pkgbase))!;
      await rig.gitlab.state.finishPipeline(pipeline.id, 'success');
      await rig.server.drain();
      await rig.server.progress.idle();
    }
    expect(statesOf(rig, 'auto-zlib')).toEqual({ zlib: 'built', libpng: 'built', cairo: 'built' });
    expect(history(rig, zlib, push.after, 'quarters/x86_64')).toEqual(['running', 'success']);
    expect(rig.gitlab.state.commitStatusesOf(zlib, push.after)[0]).toMatchObject({ ref: 'main', description: '3/3 built', targetUrl: 'http://quarters.test/ui/namespaces/auto-zlib' });
    // Only the origin's commit gets a status; no merge request, no note.
    expect([...rig.gitlab.state.commitStatuses.values()].every((s) => s.projectId === zlib.id)).toBe(true);
    expect(rig.gitlab.state.notes.size).toBe(0);
  });

  it('judges any package pipeline at the origin commit of a tree repository by its jobs: a status GitLab made part of it does not hold its build', async () => {
    const clock = new ManualClock();
    rig = await startRig({ treeProject: 'aosc/abbs', build: { flavour: 'autobuild', architectures: ['amd64'] }, progress: { intervalMs: INTERVAL_MS, clock } });
    withJobHooks(rig);
    const spec = (ver: string) => `VER=${ver}\nSRCS="tbl::https://example.org/src-$VER.tar.xz"\nCHKSUMS="sha256::${'0'.repeat(64)}"\nCHKUPDATE="anitya::id=1"\n`;
    const defines = (name: string, deps: string[] = []) => `PKGNAME=${name}\nPKGSEC=libs\nPKGDEP="${deps.join(' ')}"\nPKGDES="${name} for tests"\n`;
    const tree = rig.gitlab.state.addProject({
      path: 'aosc/abbs',
      files: { 'core-libs/zlib/spec': spec('1.3'), 'core-libs/zlib/autobuild/defines': defines('zlib'), 'libs/libpng/spec': spec('1.6'), 'libs/libpng/autobuild/defines': defines('libpng', ['zlib']) },
    });
    await rig.server.index.syncAll();
    const push = rig.gitlab.state.pushFiles(tree, { 'core-libs/zlib/spec': spec('1.3.1') });
    await rig.deliver('Push Hook', rig.gitlab.pushHookBody(push, JANE));
    await rig.server.progress.idle();
    const pipelineOf = (pkgbase: string) => rig.gitlab.state.pipelinesOf(tree).filter((p) => p.variables.some((v) => v.key === 'QUARTERS_PKGBASE' && v.value === pkgbase)).at(-1)!;
    await rig.gitlab.state.finishPipeline(pipelineOf('zlib').id, 'success');
    await rig.server.drain();
    await rig.gitlab.state.finishPipeline(pipelineOf('libpng').id, 'failed');
    await rig.server.drain();
    await rig.server.progress.idle();
    // Settled with a failure: the status is now a job of the newest pipeline at the commit, libpng's.
    const libpng = pipelineOf('libpng');
    expect(libpng.sha).toBe(push.after);
    const failed = rig.gitlab.state.commitStatusesOf(tree, push.after).find((s) => s.status === 'failed')!;
    expect(failed.pipelineId).toBe(libpng.id);

    const ns = rig.server.store.namespaceByName('auto-zlib')!;
    // GitLab takes no status for now: the pipeline's own status stays what quarters' failed one makes it.
    rig.gitlab.faults.inject({ route: 'POST /projects/:id/statuses/:sha', respond: 500, times: Infinity });
    await rig.server.control.retry(ns.id);
    await rig.server.drain();
    await rig.gitlab.state.finishPipeline(libpng.id, 'success');
    await rig.server.drain();
    await rig.server.progress.idle();
    // GitLab says failed (quarters' status is one of its jobs); its job succeeded, and that decides.
    expect(rig.gitlab.state.pipeline(libpng.id).status).toBe('failed');
    expect(statesOf(rig, 'auto-zlib')).toEqual({ zlib: 'built', libpng: 'built' });
    rig.gitlab.faults.clear();
    clock.advance(INTERVAL_MS);
    await rig.server.progress.idle();
    expect(rig.gitlab.state.commitStatusesOf(tree, push.after).map((s) => s.status)).toEqual(['success']);
    expect(rig.gitlab.state.pipeline(libpng.id).status).toBe('success');
  });
});
