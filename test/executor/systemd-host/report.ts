/**
 * The report guest.ts writes in the VM and ../systemd-host.test.ts reads back: one entry per check
 * it got to. (Its own module: the guest needs only the type, and zod takes seconds to load emulated.)
 */
import { z } from 'zod';

export const guestReportSchema = z.object({
  checks: z.array(z.object({
    title: z.string(),
    passed: z.boolean(),
    /** What went wrong (an assertion's message and stack); null when the check passed. */
    error: z.string().nullable(),
    seconds: z.number(),
  })),
});

export type GuestReport = z.infer<typeof guestReportSchema>;
