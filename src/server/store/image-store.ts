/** The `images` table: one row per image of an iteration and architecture, typed at this edge. */
import type { Db } from './database.js';

export const IMAGE_STATES = ['building', 'built', 'failed'] as const;
export type ImageState = (typeof IMAGE_STATES)[number];

export interface ImageRow {
  id: number;
  iteration_id: number;
  arch: string;
  name: string;
  state: ImageState;
  /** The image file, below the image's directory (LABEL.raw or LABEL.qcow2), once built. */
  filename: string | null;
  size: number | null;
  sha256: string | null;
  reason: string | null;
  created_at: string;
  finished_at: string | null;
}

const now = (): string => new Date().toISOString();

export class ImageStore {
  constructor(private readonly db: Db) {}

  /** Records an image as building; null when the iteration already has it (built, failed or building). */
  start(iterationId: number, arch: string, name: string): ImageRow | null {
    const result = this.db.prepare('INSERT OR IGNORE INTO images (iteration_id, arch, name, state, created_at) VALUES (?, ?, ?, \'building\', ?)').run(iterationId, arch, name, now());
    return result.changes ? this.byId(Number(result.lastInsertRowid))! : null;
  }

  /** Builds it again (on request): a failed image goes back to building; null when it is built or building. */
  restart(iterationId: number, arch: string, name: string): ImageRow | null {
    const result = this.db.prepare('UPDATE images SET state = \'building\', reason = NULL, finished_at = NULL, created_at = ? WHERE iteration_id = ? AND arch = ? AND name = ? AND state = \'failed\'').run(now(), iterationId, arch, name);
    return result.changes ? this.find(iterationId, arch, name)! : this.start(iterationId, arch, name);
  }

  built(id: number, file: { filename: string; size: number; sha256: string }): void {
    this.db.prepare('UPDATE images SET state = \'built\', filename = ?, size = ?, sha256 = ?, reason = NULL, finished_at = ? WHERE id = ?').run(file.filename, file.size, file.sha256, now(), id);
  }

  failed(id: number, reason: string): void {
    this.db.prepare('UPDATE images SET state = \'failed\', reason = ?, finished_at = ? WHERE id = ?').run(reason, now(), id);
  }

  /** Images a stopped server left building: they will not finish. */
  failInterrupted(): number {
    return this.db.prepare('UPDATE images SET state = \'failed\', reason = \'the server stopped while building it\', finished_at = ? WHERE state = \'building\'').run(now()).changes;
  }

  byId(id: number): ImageRow | undefined {
    return this.db.prepare('SELECT * FROM images WHERE id = ?').get(id) as ImageRow | undefined;
  }

  find(iterationId: number, arch: string, name: string): ImageRow | undefined {
    return this.db.prepare('SELECT * FROM images WHERE iteration_id = ? AND arch = ? AND name = ?').get(iterationId, arch, name) as ImageRow | undefined;
  }

  /** The images of an iteration, by name and architecture. */
  ofIteration(iterationId: number): ImageRow[] {
    return this.db.prepare('SELECT * FROM images WHERE iteration_id = ? ORDER BY name, arch').all(iterationId) as ImageRow[];
  }
}
