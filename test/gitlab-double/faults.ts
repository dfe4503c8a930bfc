/** Fault switches: make a route answer 429, 5xx, or slowly, the next N times it is called. */
import type { MiddlewareHandler } from 'hono';

export interface FaultSpec {
  /** `METHOD /path` under `/api/v4`, `:name` matching one path segment (e.g. `POST /projects/:id/pipeline`); a path alone matches any method; `*` matches every request. */
  route: string;
  /** Answer this status instead of serving the request (429, 500, 502, 503…). */
  respond?: number;
  /** With `respond: 429` (or 503): the `Retry-After` header, in seconds. */
  retryAfter?: number;
  /** Hold the request this long before answering (then serve it, or answer `respond`). */
  delayMs?: number;
  /** How many matching requests the fault applies to; defaults to 1. `Infinity` for every one. */
  times?: number;
  /**
   * `before` (default): the fault strikes before GitLab acts, the request has no effect.
   * `after`: GitLab carries the request out, then the answer is delayed or replaced, as when a
   * proxy times out or a response is lost: the client cannot tell that it took effect.
   */
  phase?: 'before' | 'after';
}

interface ActiveFault extends FaultSpec {
  method: string | null;
  pattern: RegExp;
  remaining: number;
  hits: number;
}

/** Parses `METHOD /path/:param` into a method and a path regexp over the raw (still percent-encoded) path. */
function compileRoute(route: string): { method: string | null; pattern: RegExp } {
  if (route === '*') return { method: null, pattern: /^/ };
  const match = /^(?:([A-Z]+)\s+)?(\/\S*)$/.exec(route);
  if (!match) throw new Error(`double: fault route "${route}" is not "METHOD /path" or "/path" or "*"`);
  const escaped = match[2]!.replace(/\/+$/, '').split('/').map((segment) =>
    segment.startsWith(':') ? '[^/]+' : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('/');
  return { method: match[1] ?? null, pattern: new RegExp(`^${escaped}/?$`) };
}

/** The set of armed faults; `middleware` applies them to requests under `apiPrefix`. */
export class Faults {
  private active: ActiveFault[] = [];

  /** Arms a fault; returns a handle telling how often it fired. */
  inject(spec: FaultSpec): { readonly hits: number } {
    if (spec.respond === undefined && spec.delayMs === undefined) throw new Error('double: a fault needs respond or delayMs');
    const fault: ActiveFault = { ...spec, ...compileRoute(spec.route), remaining: spec.times ?? 1, hits: 0 };
    this.active.push(fault);
    return { get hits() { return fault.hits; } };
  }

  clear(): void {
    this.active = [];
  }

  private take(method: string, path: string): ActiveFault | undefined {
    const fault = this.active.find((f) => f.remaining > 0 && (f.method === null || f.method === method) && f.pattern.test(path));
    if (fault) {
      fault.remaining -= 1;
      fault.hits += 1;
    }
    return fault;
  }

  middleware(apiPrefix: string): MiddlewareHandler {
    return async (c, next) => {
      const rawPath = new URL(c.req.url).pathname;
      if (!rawPath.startsWith(apiPrefix)) return next();
      const fault = this.take(c.req.method, rawPath.slice(apiPrefix.length));
      if (!fault) return next();
      if (fault.phase === 'after') await next();
      if (fault.delayMs !== undefined) await new Promise((resolve) => setTimeout(resolve, fault.delayMs));
      if (fault.respond === undefined) return fault.phase === 'after' ? undefined : next();
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (fault.retryAfter !== undefined) headers['retry-after'] = String(fault.retryAfter);
      const message = fault.respond === 429 ? 'Retry later' : `${fault.respond} Internal Server Error`;
      c.res = new Response(JSON.stringify({ message }), { status: fault.respond, headers });
      return c.res;
    };
  }
}
