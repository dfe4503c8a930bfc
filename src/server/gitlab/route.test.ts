import { describe, expect, it } from 'vitest';
import { routeOf } from './route.js';

describe('routeOf', () => {
  it('replaces identifiers by named parameters, whatever they contain', () => {
    expect(routeOf('projects/arch%2Fpackages%2Fzlib/repository/files/autobuild%2Fdefines/raw')).toBe('projects/:id/repository/files/:file_path/raw');
    expect(routeOf('projects/12/pipelines/345/cancel')).toBe('projects/:id/pipelines/:pipeline_id/cancel');
    expect(routeOf('projects/12/pipelines/latest')).toBe('projects/:id/pipelines/latest');
    expect(routeOf('projects/12/merge_requests/3/notes/99')).toBe('projects/:id/merge_requests/:iid/notes/:note_id');
    expect(routeOf('groups/arch%2Fpackages/projects?page=2')).toBe('groups/:id/projects');
    expect(routeOf('projects/12/statuses/0123abc')).toBe('projects/:id/statuses/:sha');
    expect(routeOf('projects/12/repository/commits/0123abc/statuses')).toBe('projects/:id/repository/commits/:sha/statuses');
    expect(routeOf('job')).toBe('job');
    expect(routeOf('projects/1/something/else')).toBe('projects/:id/:param/:param');
  });
});
