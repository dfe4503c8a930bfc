/** What the executor makes of the quarters server's answers and of requests that got none. */

/** What the server said, from its `{error, detail}` body or the raw text. */
export async function serverMessage(response: Response): Promise<string> {
  const text = (await response.text().catch(() => '')).slice(0, 2000);
  try {
    const body = JSON.parse(text) as { error?: unknown; detail?: unknown };
    if (typeof body.error === 'string') return typeof body.detail === 'string' ? `${body.error}: ${body.detail}` : body.error;
  } catch {
    // not JSON
  }
  return text.trim() || response.statusText;
}

/** Why a request got no answer: the system's error code (ECONNREFUSED...) where there is one. */
export function requestProblem(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (error as Error).message;
}
