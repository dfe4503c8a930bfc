import { describe, expect, it } from 'vitest';
import type { BuildRow, NamespaceRow } from '../store/build-store.js';
import { pipelineVariables } from './pipeline-variables.js';

const build = { id: 12, pkgbase: 'garnet-tool', arch: 'x86_64', packager: null } as BuildRow;
const namespace = { name: 'garnet', target_branch: 'stable', packager: 'Jane Doe <jane@example.org>' } as NamespaceRow;
const publicUrl = 'https://quarters.example.org';

describe('pipelineVariables', () => {
  it("passes a Debian build the configured DEB_BUILD_OPTIONS and build profiles, and nothing of them to other flavours", () => {
    const debian = pipelineVariables(build, namespace, 3, { publicUrl, flavour: 'debian', debBuildOptions: 'nocheck parallel=4', debBuildProfiles: ['nocheck', 'pkg.garnet.nodoc'] });
    expect(debian).toMatchObject({ QUARTERS_FLAVOUR: 'debian', QUARTERS_PACKAGER: 'Jane Doe <jane@example.org>', QUARTERS_DEB_BUILD_OPTIONS: 'nocheck parallel=4', QUARTERS_DEB_BUILD_PROFILES: 'nocheck pkg.garnet.nodoc' });
    const none = pipelineVariables(build, namespace, 3, { publicUrl, flavour: 'debian', debBuildOptions: '', debBuildProfiles: [] });
    expect(Object.keys(none).filter((k) => k.startsWith('QUARTERS_DEB_'))).toEqual([]);
    const arch = pipelineVariables(build, namespace, 3, { publicUrl, flavour: 'pkgbuild', debBuildOptions: 'nocheck', debBuildProfiles: ['nocheck'] });
    expect(Object.keys(arch).filter((k) => k.startsWith('QUARTERS_DEB_'))).toEqual([]);
  });

  it('refuses options that are not plain words', () => {
    expect(() => pipelineVariables(build, namespace, 3, { publicUrl, flavour: 'debian', debBuildOptions: 'nocheck; reboot' })).toThrow(/QUARTERS_DEB_BUILD_OPTIONS/);
  });
});
