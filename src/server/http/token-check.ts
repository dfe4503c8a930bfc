/** Constant-time secret comparison: both sides are hashed to equal-length digests, then compared with timingSafeEqual. */
import { createHash, timingSafeEqual } from 'node:crypto';

const digest = (value: string): Buffer => createHash('sha256').update(value, 'utf8').digest();

/** True when `given` equals one of `expected`; the time taken does not depend on where they differ. */
export function matchesSecret(given: string | undefined | null, expected: readonly string[]): boolean {
  const givenDigest = digest(given ?? '');
  let found = false;
  // Every candidate is compared, so the time does not tell which one matched.
  for (const candidate of expected) found = timingSafeEqual(givenDigest, digest(candidate)) || found;
  return found && given !== undefined && given !== null && given !== '';
}

/**
 * Who a token is, as releases record it: "token:" and the first 12 hex digits of its sha256. Never the
 * token itself; an operator finds which token it was with `printf %s TOKEN | sha256sum`.
 */
export function tokenIdentity(token: string): string {
  return `token:${digest(token).toString('hex').slice(0, 12)}`;
}
