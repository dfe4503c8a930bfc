import { describe, expect, it } from 'vitest';
import { projectCacheView, projectSlug } from './project-cache.js';

describe('the runner\'s project slug', () => {
  it('is the repository URL\'s path without .git, as GitLab Runner\'s ProjectSlug', () => {
    expect(projectSlug('https://gitlab-ci-token:tok@gitlab.example.org/group/sub/project.git')).toBe('group/sub/project');
    expect(projectSlug('https://gitlab.example.org/gitlab/group/project')).toBe('gitlab/group/project');
  });

  it('is null (the runner\'s project-<id>) for what the runner cannot parse or refuses', () => {
    for (const url of [undefined, '', 'not a url', 'https://gitlab.example.org/', 'https://gitlab.example.org/a..b/c.git', 'file:///srv/repo.git']) expect(projectSlug(url), String(url)).toBeNull();
  });
});

describe('a host stage\'s view of cache_dir', () => {
  it('shows the project\'s own directory, by id, at the runner\'s paths for its slug', () => {
    expect(projectCacheView('/c', '71', 'group/project-71')).toEqual([
      { source: '/c/project-71', target: '/c/group/project-71' },
      { source: '/c/project-71', target: '/c/group/project-71-empty' },
    ]);
    expect(projectCacheView('/c', '71', null)[0]).toEqual({ source: '/c/project-71', target: '/c/project-71' });
  });
});
