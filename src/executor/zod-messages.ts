/**
 * The executor validates with zod's "mini" build and English messages; every module that declares
 * a schema imports this first.
 *
 * GitLab Runner starts the executor once per stage, so its start-up is per-job overhead: classic
 * zod costs about 50 ms of CPU to load there, mini about 10 ms, for the same validation. Mini ships
 * no locale unless asked (its messages would read "Invalid input"); English is asked for here.
 */
import { config } from 'zod/mini';
import en from 'zod/v4/locales/en.js';

config(en());
