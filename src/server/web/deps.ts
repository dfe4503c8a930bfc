/** What the web UI's pages read. */
import type { Flavour } from '../../core/recipe/model.js';
import type { BuildStore } from '../store/build-store.js';
import type { ImageStore } from '../store/image-store.js';
import type { JobStore } from '../store/job-store.js';
import type { GraphCache } from './graph-data.js';
import type { GitLabClient } from '../gitlab/client.js';
import type { SigningKeyRef } from '../../core/build-set/progress.js';

export interface WebDeps {
  store: BuildStore;
  jobs: JobStore;
  graphs: GraphCache;
  flavour: Flavour;
  /** The server's public URL (install snippets). */
  publicUrl: string;
  /** The signing key the install snippets import (null: repositories are unsigned). */
  signing: SigningKeyRef | null;
  /** data_dir: local builds' logs. */
  dataDir: string;
  /** The build sets' disk images ([[images]]), listed on a build set's page. */
  images?: ImageStore;
  /** GitLab, for the tail of a GitLab build's job log; absent in local-only mode. */
  gitlab?: GitLabClient;
}
