/**
 * The variables the server sets on every build pipeline (ARCHITECTURE.md), as one zod schema the
 * server builds them with and the executor can read them with (as CUSTOM_ENV_<name>). None of them
 * authorizes anything: uploads are authorized by the executor token and the job token.
 */
import { z } from 'zod';
import { ITERATION_NUMBER, NAMESPACE_NAME } from './build-set/names.js';
import { FLAVOURS, type Flavour } from './recipe/model.js';

export const pipelineVariablesSchema = z.strictObject({
  QUARTERS_SERVER_URL: z.url(),
  QUARTERS_BUILD_ID: z.string().regex(/^[1-9]\d*$/),
  QUARTERS_NAMESPACE: z.string().regex(NAMESPACE_NAME),
  QUARTERS_ITERATION: z.string().regex(ITERATION_NUMBER),
  QUARTERS_PKGBASE: z.string().min(1),
  QUARTERS_ARCH: z.string().regex(/^[a-z0-9_]+$/),
  QUARTERS_FLAVOUR: z.enum(FLAVOURS as unknown as [Flavour, ...Flavour[]]),
  /** The distribution branch the build targets (the default branch, or an MR's target). */
  QUARTERS_TARGET_BRANCH: z.string().min(1),
  /** "Name <email>" of the person whose push caused the build; empty when unknown. */
  QUARTERS_PACKAGER: z.string(),
});

export type PipelineVariables = z.infer<typeof pipelineVariablesSchema>;
