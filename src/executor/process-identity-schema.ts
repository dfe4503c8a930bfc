/** How a process identity (process-identity.ts) is stored in files the executor reads back: apart, so that reading one needs zod only where it is validated. */
import './zod-messages.js';
import * as z from 'zod/mini';

export const processIdentitySchema = z.strictObject({ pid: z.int().check(z.positive()), startTime: z.string() });
export type ProcessIdentity = z.infer<typeof processIdentitySchema>;
