/**
 * The variables the server sets on every build pipeline (ARCHITECTURE.md): the contract both sides
 * speak, declared once. The server builds them with this schema; the executor reads them (as
 * CUSTOM_ENV_<name>, every one optional, since a job may come from elsewhere) with the same fields.
 * None of them authorizes anything: the executor treats them as claims. Written with zod's mini
 * build, which the executor uses to keep its start-up fast.
 */
import * as z from 'zod/mini';
import { ITERATION_NUMBER, NAMESPACE_NAME } from './build-set/names.js';
import { FLAVOURS, type Flavour } from './recipe/model.js';

/** DEB_BUILD_OPTIONS as quarters passes them: lower-case words, `name=value` (the driver checks the same). */
export const DEB_BUILD_OPTIONS = /^([a-z0-9][a-z0-9_.+-]*(=[A-Za-z0-9_.+,-]+)?( +|$))*$/;
/** A build profile's name (Debian Policy: lower-case letters, digits, `.`, `+`, `-`). */
export const DEB_BUILD_PROFILE = /^[a-z0-9][a-z0-9.+-]*$/;
const DEB_BUILD_PROFILES = /^([a-z0-9][a-z0-9.+-]*( +|$))*$/;

export const pipelineVariablesSchema = z.strictObject({
  QUARTERS_SERVER_URL: z.url(),
  QUARTERS_BUILD_ID: z.string().check(z.regex(/^[1-9]\d*$/, 'expected a build id (a positive number)')),
  /** A path component of the build set's repository. */
  QUARTERS_NAMESPACE: z.string().check(z.regex(NAMESPACE_NAME, 'expected a build set name: a letter or digit, then letters, digits, ".", "_", "+", "-"')),
  QUARTERS_ITERATION: z.string().check(z.regex(ITERATION_NUMBER, 'expected an iteration number')),
  QUARTERS_PKGBASE: z.string().check(z.minLength(1)),
  QUARTERS_ARCH: z.string().check(z.regex(/^[a-z0-9_]+$/, 'expected an architecture')),
  QUARTERS_FLAVOUR: z.enum(FLAVOURS as unknown as [Flavour, ...Flavour[]]),
  /** The distribution branch the build targets (the default branch, or an MR's target). */
  QUARTERS_TARGET_BRANCH: z.string().check(z.minLength(1)),
  /** "Name <email>" of the person whose push caused the build; empty when unknown. */
  QUARTERS_PACKAGER: z.string(),
  /** Debian builds: `[build] deb_build_options`, added to the build's DEB_BUILD_OPTIONS. */
  QUARTERS_DEB_BUILD_OPTIONS: z.optional(z.string().check(z.regex(DEB_BUILD_OPTIONS, 'expected blank-separated words like "nocheck parallel=4"'))),
  /** Debian builds: `[build] deb_build_profiles`, the build profiles active (blank-separated). */
  QUARTERS_DEB_BUILD_PROFILES: z.optional(z.string().check(z.regex(DEB_BUILD_PROFILES, 'expected blank-separated build profile names'))),
});

export type PipelineVariables = z.infer<typeof pipelineVariablesSchema>;
