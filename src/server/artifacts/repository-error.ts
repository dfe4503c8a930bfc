/** A repository index tool failed; the message carries its output. */
export class RepositoryError extends Error {
  override name = 'RepositoryError';
}
