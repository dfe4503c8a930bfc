/** GitLab's error answers: Grape validation errors are `{"error": …}`, everything else `{"message": …}`. */

/** A 400 for a missing or invalid parameter (`{"error": "ref is missing"}`). */
export class BadRequest extends Error {
  override name = 'BadRequest';
}

/** Any other error answer: status and GitLab's `message` (a string, or an object of field errors). */
export class ApiError extends Error {
  override name = 'ApiError';
  constructor(readonly status: 401 | 403 | 404 | 400 | 409 | 422, readonly body: string | string[] | Record<string, string[]>) {
    super(typeof body === 'string' ? body : JSON.stringify(body));
  }
}

/** GitLab's `not_found!(what)`: `404 {what} Not Found`. */
export const notFound = (what: string) => new ApiError(404, `404 ${what} Not Found`);
/** What GitLab answers when an ActiveRecord `find` fails (pipelines, notes by id). */
export const recordNotFound = () => new ApiError(404, '404 Not found');
export const unauthorized = () => new ApiError(401, '401 Unauthorized');
