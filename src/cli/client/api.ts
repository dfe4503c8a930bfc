/** The REST client of /api/v1: one request at a time, the server's {error, detail} turned into one line. */
import { CommandError } from '../command.js';
import type { ClientSettings } from './config.js';

/** The server refused (4xx/5xx with {error, detail}) or could not be reached: one line, exit status 1. */
export class ApiAnswerError extends CommandError {
  override name = 'ApiAnswerError';
  constructor(
    message: string,
    readonly status: number | null,
  ) {
    super(message);
  }
}

/** The server's `{error, detail}`, or null for anything else (a proxy's page: its first line says enough). */
function errorBody(text: string): { error: string; detail?: unknown } | null {
  try {
    const value = JSON.parse(text) as { error?: unknown } | null;
    return value && typeof value.error === 'string' ? (value as { error: string; detail?: unknown }) : null;
  } catch {
    return null;
  }
}

export class ApiClient {
  constructor(private readonly settings: ClientSettings) {}

  /** Sends a request under /api/v1 and returns the raw response when it is 2xx or 3xx. */
  async send(method: string, path: string, options: { body?: unknown; token?: boolean } = {}): Promise<Response> {
    const url = `${this.settings.server}/api/v1${path}`;
    const headers: Record<string, string> = { Accept: 'application/json' };
    if (options.body !== undefined) headers['Content-Type'] = 'application/json';
    if (options.token && this.settings.token) headers.Authorization = `Bearer ${this.settings.token}`;
    let res: Response;
    try {
      res = await fetch(url, { method, headers, redirect: 'manual', ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }) });
    } catch (error) {
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      throw new ApiAnswerError(`cannot reach ${this.settings.server}: ${cause?.code ?? cause?.message ?? (error as Error).message}`, null);
    }
    if (res.status < 400) return res;
    const text = await res.text().catch(() => '');
    const answer = errorBody(text);
    const what = answer ? `${answer.error}: ${String(answer.detail ?? 'no detail')}` : text.split('\n')[0]!.slice(0, 200) || res.statusText;
    throw new ApiAnswerError(`${method} /api/v1${path}: ${res.status} ${what}`.replace(/\s*\n\s*/g, ' '), res.status);
  }

  /** GET, as JSON. */
  async get<T>(path: string): Promise<T> {
    return (await (await this.send('GET', path)).json()) as T;
  }

  /** POST with the API token, as JSON. */
  async post<T>(path: string, body?: unknown): Promise<T> {
    return (await (await this.send('POST', path, { body, token: true })).json()) as T;
  }
}
