/**
 * What a build used, as the executor measures it and the server records it: the contract both sides
 * speak, declared once. It travels as the body of `PUT /api/v1/builds/{id}/resource-usage` (after
 * every build stage, failed ones included) and in the `X-Quarters-Resource-Usage` header of uploads.
 * Written with zod's mini build, which the executor uses to keep its start-up fast; the server
 * validates with the same schema.
 */
import * as z from 'zod/mini';

/** The upload header that carries a build's resource usage (JSON). */
export const RESOURCE_USAGE_HEADER = 'X-Quarters-Resource-Usage';

export const resourceUsageSchema = z.strictObject({
  wall_seconds: z.number().check(z.nonnegative()),
  cpu_seconds: z.number().check(z.nonnegative()),
  /** Null where the environment could not measure it (no cgroup memory accounting). */
  peak_memory_bytes: z.nullable(z.int().check(z.nonnegative())),
  disk_bytes: z.nullable(z.int().check(z.nonnegative())),
});

export type ResourceUsageReport = z.infer<typeof resourceUsageSchema>;

/** The path a build's resource usage is PUT to. */
export function resourceUsagePath(buildId: string | number): string {
  return `/api/v1/builds/${encodeURIComponent(String(buildId))}/resource-usage`;
}
