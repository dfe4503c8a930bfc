/**
 * A full Debian build's source package through the server (flavour debian, `deb_build_type = "full"`):
 * the pipeline is told to make it (QUARTERS_DEB_BUILD_TYPE), the upload route takes the source files
 * and then the .dsc that lists them, refuses a .dsc before its files and a changed file after it, and
 * serves the repository's Sources index, which Release lists.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EXECUTOR_TOKEN, JANE, startRig, type Rig } from './server-harness.js';
import { sha256Of, upload } from './packages.js';
import { debSourcePackage, tempDir } from '../support/packages.js';

const CONTROL = [
  'Source: libgarnet', 'Maintainer: Quarters Examples <examples@quarters.invalid>', '',
  'Package: libgarnet1', 'Architecture: any', 'Description: a library', ' for tests', '',
].join('\n');
const changelog = (version: string) => `libgarnet (${version}) unstable; urgency=medium\n\n  * Test.\n\n -- Quarters Examples <examples@quarters.invalid>  Thu, 03 Dec 2026 12:00:00 +0000\n`;

describe('uploads of a full Debian build (source package)', () => {
  let rig: Rig;
  let buildId: number;
  let jobToken: string;
  let pipelineId: number;

  beforeAll(async () => {
    rig = await startRig({ build: { flavour: 'debian', deb_build_type: 'full' } });
    const project = rig.gitlab.state.addProject({ path: 'packages/libgarnet', files: { 'debian/control': CONTROL, 'debian/changelog': changelog('1.2.0-0') } });
    await rig.server.index.syncAll();
    await rig.deliver('Push Hook', rig.gitlab.pushHookBody(rig.gitlab.state.pushFiles(project, { 'debian/changelog': changelog('1.2.0-1') }), JANE));
    const ns = rig.server.store.namespaceByName('auto-libgarnet')!;
    const build = rig.server.store.builds(rig.server.store.latestIteration(ns.id)!.id)[0]!;
    expect(build).toMatchObject({ pkgbase: 'libgarnet', version: '1.2.0-1' });
    buildId = build.id;
    pipelineId = build.pipeline_id!;
    jobToken = (await rig.gitlab.state.startPipeline(pipelineId)).token;
    await rig.server.drain();
  });
  afterAll(async () => rig?.close());

  const tokens = () => ({ executor: EXECUTOR_TOKEN, job: jobToken });
  const pool = () => { try { return readdirSync(join(rig.config.data_dir, 'pool', String(buildId))).sort(); } catch { return []; } };

  it('asks the pipeline for the source package', () => {
    expect(rig.gitlab.state.pipeline(pipelineId).variables).toEqual(expect.arrayContaining([expect.objectContaining({ key: 'QUARTERS_DEB_BUILD_TYPE', value: 'full' })]));
  });

  it('refuses the .dsc before its files, takes it after them, serves Sources, and refuses a changed file after it', async () => {
    const made = await debSourcePackage({ source: 'libgarnet', version: '1.2.0-1', format: 'quilt', binaries: ['libgarnet1'] });
    const file = (filename: string) => ({ filename, path: join(made.dir, filename) });

    const early = await upload(rig.url, buildId, file('libgarnet_1.2.0-1.dsc'), tokens());
    expect(early.status).toBe(422);
    expect(await early.json()).toMatchObject({ error: 'source_mismatch', detail: expect.stringMatching(/it lists libgarnet_1\.2\.0\.orig\.tar\.xz, libgarnet_1\.2\.0-1\.debian\.tar\.xz, which the build has not uploaded \(a source package.s files come before its \.dsc\)/) });
    expect(pool()).toEqual([]);

    for (const filename of made.files) expect((await upload(rig.url, buildId, file(filename), tokens())).status, filename).toBe(201);
    expect(pool()).toEqual(['libgarnet_1.2.0-1.debian.tar.xz', 'libgarnet_1.2.0-1.dsc', 'libgarnet_1.2.0.orig.tar.xz']);

    const base = `${rig.url}/repos/auto-libgarnet/latest/x86_64`;
    const sources = await (await fetch(`${base}/Sources`)).text();
    expect(sources).toMatch(/^Package: libgarnet$/m);
    expect(sources).toContain(` ${sha256Of(join(made.dir, 'libgarnet_1.2.0.orig.tar.xz'))} `);
    expect(await (await fetch(`${base}/Release`)).text()).toMatch(/ Sources$/m);
    expect((await fetch(`${base}/libgarnet_1.2.0.orig.tar.xz`)).status).toBe(200);

    // A retried upload of the same file is taken; another file under its name is not.
    expect((await upload(rig.url, buildId, file('libgarnet_1.2.0.orig.tar.xz'), tokens())).status).toBe(201);
    const changed = join(tempDir('quarters-orig-'), 'libgarnet_1.2.0.orig.tar.xz');
    writeFileSync(changed, 'another upstream');
    const late = await upload(rig.url, buildId, { filename: 'libgarnet_1.2.0.orig.tar.xz', path: changed }, tokens());
    expect(late.status).toBe(422);
    expect(await late.json()).toMatchObject({ error: 'source_mismatch', detail: expect.stringMatching(/but the \.dsc lists sha256/) });
    // The repository still serves the orig tarball its .dsc lists.
    const served = Buffer.from(await (await fetch(`${base}/libgarnet_1.2.0.orig.tar.xz`)).arrayBuffer());
    expect(served.equals(readFileSync(join(made.dir, 'libgarnet_1.2.0.orig.tar.xz')))).toBe(true);
  });
});
