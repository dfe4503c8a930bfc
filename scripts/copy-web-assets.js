/* global URL */
// Copies the web UI's assets (the style sheet and the browser script, which tsc does not emit) next to the built server.
import { cpSync } from 'node:fs';
cpSync(new URL('../src/server/web/assets/', import.meta.url), new URL('../dist/server/web/assets/', import.meta.url), { recursive: true });
