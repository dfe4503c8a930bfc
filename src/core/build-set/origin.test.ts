import { describe, expect, it } from 'vitest';
import { BuildSetError, checkBuildSetName, formatOrigin, isBuildSetName, parseOrigin } from './origin.js';
import { pipelineEvent } from './pipeline-event.js';
import { checkArtifactName, isBuildRecord } from './artifact-name.js';

describe('origin changesets', () => {
  it('parses pkgbase@ref at the last @', () => {
    expect(parseOrigin('zlib@main')).toEqual({ pkgbase: 'zlib', ref: 'main' });
    expect(parseOrigin('lib32@gcc@feature/x')).toEqual({ pkgbase: 'lib32@gcc', ref: 'feature/x' });
    expect(formatOrigin(parseOrigin('zlib@v1.3'))).toBe('zlib@v1.3');
  });

  it.each(['zlib', '@main', 'zlib@', 'zl ib@main', 'zlib@a..b', 'zlib@-rf', 'zlib@has space'])('refuses %j with a domain error naming it', (text) => {
    const error = (() => {
      try {
        parseOrigin(text);
      } catch (e) {
        return e;
      }
      return null;
    })();
    expect(error).toBeInstanceOf(BuildSetError);
    expect((error as BuildSetError).code).toBe('invalid_origin');
    expect((error as BuildSetError).message).toContain(JSON.stringify(text));
  });

  it('knows build set names: one safe path segment', () => {
    expect(isBuildSetName('auto-zlib')).toBe(true);
    expect(isBuildSetName('mr-12-3')).toBe(true);
    for (const bad of ['', '..', '.hidden', 'a/b', '-x', 'x'.repeat(101)]) expect(isBuildSetName(bad)).toBe(false);
    expect(() => checkBuildSetName('a/b')).toThrow(BuildSetError);
  });
});

describe('pipelineEvent', () => {
  it('maps finished statuses to their events', () => {
    expect(pipelineEvent('success', 5, 'building')).toEqual({ type: 'pipeline-succeeded' });
    expect(pipelineEvent('failed', 5, 'building')).toEqual({ type: 'pipeline-failed', reason: 'pipeline 5 failed' });
    expect(pipelineEvent('skipped', 5, 'building')).toEqual({ type: 'pipeline-failed', reason: 'pipeline 5 was skipped' });
    expect(pipelineEvent('canceled', 5, 'building')).toEqual({ type: 'pipeline-canceled' });
  });

  it('treats a queued pipeline as running again only for a failed or cancelled build (a retry)', () => {
    expect(pipelineEvent('running', 5, 'dispatched')).toEqual({ type: 'pipeline-running' });
    expect(pipelineEvent('pending', 5, 'dispatched')).toBeNull();
    expect(pipelineEvent('pending', 5, 'failed')).toEqual({ type: 'pipeline-running' });
    expect(pipelineEvent('created', 5, 'cancelled')).toEqual({ type: 'pipeline-running' });
    expect(pipelineEvent('manual', 5, 'failed')).toBeNull();
  });
});

describe('checkArtifactName', () => {
  it('takes a pacman package of the build architecture or any', () => {
    expect(checkArtifactName('zlib-1.3-1-x86_64.pkg.tar.zst', 'pkgbuild', 'x86_64')).toEqual({ ok: true, value: { name: 'zlib', version: '1.3-1', arch: 'x86_64' } });
    expect(checkArtifactName('zlib-1.3-1-any.pkg.tar.zst', 'pkgbuild', 'aarch64')).toMatchObject({ ok: true });
    expect(checkArtifactName('zlib-1.3-1-aarch64.pkg.tar.zst', 'pkgbuild', 'x86_64')).toMatchObject({ ok: false, reason: expect.stringContaining('is for aarch64') });
  });

  it('takes a .deb with Debian architecture names', () => {
    expect(checkArtifactName('zlib1g_1.3-1_amd64.deb', 'autobuild', 'x86_64')).toMatchObject({ ok: true });
    expect(checkArtifactName('zlib1g_1.3-1_all.deb', 'debian', 'arm64')).toMatchObject({ ok: true });
  });

  it("takes a Debian build's .buildinfo and .changes as its records, for the build's architecture, and only for flavour debian", () => {
    expect(checkArtifactName('zlib_1.3-1_amd64.changes', 'debian', 'x86_64')).toEqual({ ok: true, value: { name: 'zlib', version: '1.3-1', arch: 'amd64', record: 'changes' } });
    expect(checkArtifactName('zlib_1.3-1_amd64.buildinfo', 'debian', 'amd64')).toMatchObject({ ok: true, value: { record: 'buildinfo' } });
    expect(checkArtifactName('zlib_1.3-1_arm64.changes', 'debian', 'x86_64')).toMatchObject({ ok: false, reason: expect.stringContaining('is for arm64') });
    expect(checkArtifactName('zlib_1.3-1_amd64.changes', 'autobuild', 'x86_64')).toMatchObject({ ok: false, reason: expect.stringContaining('NAME_VERSION_ARCH.deb') });
    expect(checkArtifactName('zlib_1.3-1_amd64.dsc', 'debian', 'x86_64').ok).toBe(false);
    expect(isBuildRecord('zlib_1.3-1_amd64.buildinfo')).toBe(true);
    expect(isBuildRecord('zlib1g_1.3-1_amd64.deb')).toBe(false);
  });

  it('refuses a name with a look-alike of / (U+2215) or any other character outside printable ASCII', () => {
    expect(checkArtifactName('zlib-1.3\u22151-1-x86_64.pkg.tar.zst', 'pkgbuild', 'x86_64')).toMatchObject({ ok: false, reason: expect.stringContaining('printable ASCII') });
    expect(checkArtifactName('zlib1g_1.3\u2215x_amd64.deb', 'autobuild', 'x86_64').ok).toBe(false);
    expect(checkArtifactName('zlib-1.3-1-x86_64.pkg.tar.zst\u00a0', 'pkgbuild', 'x86_64').ok).toBe(false);
  });

  it.each(['../x-1-1-any.pkg.tar.zst', '.x-1-1-any.pkg.tar.zst', 'a/b-1-1-any.pkg.tar.zst', 'x.tar', ''])('refuses %j', (name) => {
    expect(checkArtifactName(name, 'pkgbuild', 'x86_64').ok).toBe(false);
  });
});
