/**
 * Build state changes as they happen, for Server-Sent Events (`GET /api/v1/events`): the store's change
 * notices read once into events and handed to every subscriber. Only changes this server process made
 * are seen (a `quarters build` in another process writes its own database rows without telling).
 */
import type { BuildState } from '../../core/build-state.js';
import type { BuildChange, BuildStore } from '../store/build-store.js';

/** A build moved. */
export interface BuildEventData {
  id: number;
  namespace: string;
  iteration: number;
  pkgbase: string;
  arch: string;
  pass: number;
  state: BuildState;
  reason: string | null;
  pipeline_url: string | null;
  started_at: string | null;
  finished_at: string | null;
}

/** What a live page is told: a build moved, or a build set got a new iteration (reload its page). */
export type LiveEvent = { kind: 'build'; namespace: string; data: BuildEventData } | { kind: 'iteration'; namespace: string; data: { namespace: string; iteration: number } };

export class LiveFeed {
  private readonly subscribers = new Set<(event: LiveEvent) => void>();
  private unsubscribe: (() => void) | null = null;
  /** iteration id → [namespace, number]: builds' iterations never change. */
  private readonly iterations = new Map<number, [string, number]>();

  constructor(private readonly store: BuildStore) {}

  /** Calls `listener` with every event until the returned function is called. */
  subscribe(listener: (event: LiveEvent) => void): () => void {
    this.subscribers.add(listener);
    this.unsubscribe ??= this.store.onChange((change) => this.publish(change));
    return () => {
      this.subscribers.delete(listener);
      if (this.subscribers.size === 0) {
        this.unsubscribe?.();
        this.unsubscribe = null;
      }
    };
  }

  private publish(change: BuildChange): void {
    const event = this.eventOf(change);
    if (event) for (const listener of this.subscribers) listener(event);
  }

  private eventOf(change: BuildChange): LiveEvent | null {
    if (change.kind === 'iteration') {
      const ns = this.store.namespaceById(change.namespaceId);
      const latest = this.store.latestIteration(change.namespaceId);
      return ns && latest ? { kind: 'iteration', namespace: ns.name, data: { namespace: ns.name, iteration: latest.number } } : null;
    }
    const b = this.store.build(change.buildId);
    if (!b) return null;
    let where = this.iterations.get(b.iteration_id);
    if (!where) {
      const iteration = this.store.iterationById(b.iteration_id)!;
      where = [this.store.namespaceById(iteration.namespace_id)!.name, iteration.number];
      if (this.iterations.size > 10_000) this.iterations.clear();
      this.iterations.set(b.iteration_id, where);
    }
    const [namespace, iteration] = where;
    return {
      kind: 'build', namespace,
      data: { id: b.id, namespace, iteration, pkgbase: b.pkgbase, arch: b.arch, pass: b.pass, state: b.state, reason: b.reason, pipeline_url: b.pipeline_url, started_at: b.started_at, finished_at: b.finished_at },
    };
  }
}
