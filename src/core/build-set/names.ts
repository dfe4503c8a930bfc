/**
 * How build sets and their iterations are named. Both are path components of a repository
 * (`/repos/NAME/ITERATION/ARCH/` on the server, `NAME/ITERATION/ARCH` on disk), checked by the
 * server when it names them and by the executor when a job claims them. Plain patterns, no zod:
 * the executor loads this on every start.
 */

/** A build set's name: starts with a letter or digit and has no `/`, so it is one path component and never `.` or `..`. */
export const NAMESPACE_NAME = /^[A-Za-z0-9][A-Za-z0-9._+-]{0,99}$/;

/** An iteration number: 1, 2, ... */
export const ITERATION_NUMBER = /^[1-9]\d{0,8}$/;
