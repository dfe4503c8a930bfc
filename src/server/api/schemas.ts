/** Request bodies of the API, as zod schemas (the OpenAPI document is made from them too). */
import { z } from 'zod';
import { checkBumpReason } from '../../core/bump/bump-request.js';

/** The body of `POST /api/v1/namespaces`. */
export const createNamespaceSchema = z.strictObject({
  name: z.string().optional(),
  origin_changesets: z.array(z.string()).min(1, 'give at least one pkgbase@ref'),
  /** "Name <email>" of the person the builds are for; passed to builds as QUARTERS_PACKAGER. */
  packager: z.string().regex(/^[^<>]+ <[^<>\s]+@[^<>\s]+>$/, 'expected "Name <email>"').optional(),
});

/** The optional body of `POST /api/v1/namespaces/{name}/cancel|resume|retry`: only these pkgbases' builds. */
export const controlBuildSetSchema = z.strictObject({
  pkgbases: z.array(z.string().min(1)).min(1, 'name at least one pkgbase, or send no body for the whole build set').optional(),
});

/** The body of `POST /api/v1/namespaces/{name}/release`. */
/** `POST /api/v1/gc`: apply [retention] now; with dry_run, only say what would go. */
export const gcSchema = z.strictObject({
  dry_run: z.boolean().optional(),
});

export const releaseSchema = z.strictObject({
  /** The distribution repository ([repositories.NAME]). */
  to: z.string().min(1),
  /** pkgbases to leave out (their builds need not be built). */
  partial: z.array(z.string().min(1)).optional(),
  /** Answer with the diff; change nothing. */
  dry_run: z.boolean().optional(),
  /** Release even when a version would go backwards. */
  force: z.boolean().optional(),
});

/** The body of `POST /api/v1/namespaces/{name}/bump`. */
export const bumpSchema = z.strictObject({
  /** Why the packages are rebuilt: the changelog entry, commit and merge request say it. */
  reason: z.string().superRefine((value, ctx) => {
    const problem = checkBumpReason(value);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  }),
  /** "Name <email>" for Debian changelog entries and the commits; default: the build set's packager. */
  maintainer: z.string().regex(/^[^<>\n]+ <[^<>\s]+@[^<>\s]+>$/, 'expected "Name <email>"').optional(),
});
