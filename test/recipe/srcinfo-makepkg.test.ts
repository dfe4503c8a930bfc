/**
 * The parser on what the real writer produces: `makepkg --printsrcinfo` on a split PKGBUILD with
 * per-architecture arrays and per-package overrides, so the override and clearing rules are
 * checked against makepkg's own output rather than against our reading of its format.
 */
import { chownSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { parseSrcinfo } from '../../src/core/recipe/srcinfo.js';

const PKGBUILD = `pkgbase=demo
pkgname=(demo demo-extra demo-docs)
pkgver=1.2
pkgrel=3
epoch=1
arch=(x86_64 aarch64)
url=https://example.org
license=(MIT)
depends=(glibc 'zlib>=1.3')
depends_x86_64=(lib32-glibc)
depends_aarch64=(libfdt)
makedepends=(cmake)
makedepends_aarch64=(dtc)
checkdepends=(python)
provides=('demo-lib=1.2')
conflicts=('demo-git<1:1.0')
package_demo() { :; }
package_demo-extra() {
  depends=(demo)
  depends_x86_64=()
  provides_x86_64=('demo-x86=1')
}
package_demo-docs() {
  arch=(any)
  depends=()
  optdepends=('bash: scripts')
}
`;

const haveMakepkg = (await execa('sh', ['-c', 'command -v makepkg'], { reject: false })).exitCode === 0;
// makepkg refuses to run as root; as root we run it as nobody, which needs runuser.
const asRoot = process.getuid?.() === 0;
const haveRunuser = !asRoot || (await execa('sh', ['-c', 'command -v runuser'], { reject: false })).exitCode === 0;
const skipReason = !haveMakepkg ? 'makepkg (Debian package makepkg) is not installed' : !haveRunuser ? 'running as root without runuser to drop to nobody' : null;
if (skipReason) console.warn(`skipping the makepkg --printsrcinfo comparison: ${skipReason}`);

const dir = mkdtempSync(join(tmpdir(), 'quarters-makepkg-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const x86 = { negated: false, arches: ['x86_64'] };
const arm = { negated: false, arches: ['aarch64'] };

describe.skipIf(skipReason !== null)('makepkg --printsrcinfo output', () => {
  it('parses into the binaries, overrides and per-architecture lists the PKGBUILD describes', async () => {
    writeFileSync(join(dir, 'PKGBUILD'), PKGBUILD);
    if (asRoot) chownSync(dir, 65534, 65534);
    const command = asRoot ? ['runuser', '-u', 'nobody', '--', 'makepkg', '--printsrcinfo'] : ['makepkg', '--printsrcinfo'];
    const { stdout } = await execa(command[0] as string, command.slice(1), { cwd: dir });
    const result = parseSrcinfo(stdout, 'demo/.SRCINFO');
    expect(result.issues).toEqual([]);
    const pkg = result.value;
    expect(pkg?.version).toEqual({ epoch: 1, upstream: '1.2', release: '3', text: '1:1.2-3' });
    expect(pkg?.architectures).toEqual(['x86_64', 'aarch64']);
    expect(pkg?.buildDepends).toEqual([[{ name: 'cmake' }], [{ name: 'dtc', arches: arm }]]);
    expect(pkg?.checkDepends).toEqual([[{ name: 'python' }]]);
    const [demo, extra, docs] = pkg?.binaries ?? [];
    expect(pkg?.binaries.map((b) => b.name)).toEqual(['demo', 'demo-extra', 'demo-docs']);
    expect(demo).toMatchObject({
      architectures: ['x86_64', 'aarch64'],
      depends: [[{ name: 'glibc' }], [{ name: 'zlib', constraint: { op: '>=', version: '1.3' } }], [{ name: 'lib32-glibc', arches: x86 }], [{ name: 'libfdt', arches: arm }]],
      provides: [{ name: 'demo-lib', version: '1.2' }],
      conflicts: [[{ name: 'demo-git', constraint: { op: '<', version: '1:1.0' } }]],
    });
    // depends replaced, depends_x86_64 cleared, depends_aarch64 inherited; provides_x86_64 added to the inherited provides.
    expect(extra).toMatchObject({
      depends: [[{ name: 'demo' }], [{ name: 'libfdt', arches: arm }]],
      provides: [{ name: 'demo-lib', version: '1.2' }, { name: 'demo-x86', version: '1', arches: x86 }],
    });
    // makepkg writes `depends = ` for the emptied array: the generic list is cleared, the per-arch ones stay.
    expect(docs).toMatchObject({
      architectures: ['any'],
      depends: [[{ name: 'lib32-glibc', arches: x86 }], [{ name: 'libfdt', arches: arm }]],
      optionalDepends: [[{ name: 'bash' }]],
    });
  });
});
