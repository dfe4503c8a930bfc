/** What a failed @gitbeaker request carried: the HTTP status and GitLab's JSON body. */
import { GitbeakerRequestError } from '@gitbeaker/rest';

/** The status and GitLab's JSON body behind a gitbeaker request error; throws if the request succeeded. */
export async function failure(promise: Promise<unknown>): Promise<{ status: number; description: string }> {
  try {
    await promise;
  } catch (error) {
    if (!(error instanceof GitbeakerRequestError)) throw error;
    const cause = error.cause as { response: Response; description: string };
    return { status: cause.response.status, description: cause.description };
  }
  throw new Error('expected the request to fail');
}
