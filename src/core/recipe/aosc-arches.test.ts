import { describe, expect, it } from 'vitest';
import { AOSC_ARCH_GROUPS, AOSC_ARCHITECTURES, resolveArchOverrides } from './aosc-arches.js';

describe('resolveArchOverrides', () => {
  it('uses the generic variable everywhere when nothing overrides it', () => {
    const { byArch, ambiguous } = resolveArchOverrides(new Set());
    expect([...byArch.values()].every((s) => s.kind === 'generic')).toBe(true);
    expect([...byArch.keys()]).toEqual(AOSC_ARCHITECTURES);
    expect(ambiguous).toEqual([]);
  });

  it('prefers the architecture, then its one overriding group, then the generic variable', () => {
    const { byArch, ambiguous } = resolveArchOverrides(new Set(['AMD64', 'MAINLINE', 'LOONGARCH64_NOSIMD', 'NOJAVA']));
    expect(byArch.get('amd64')).toEqual({ kind: 'arch', suffix: 'AMD64' });
    expect(byArch.get('loongarch64_nosimd')).toEqual({ kind: 'arch', suffix: 'LOONGARCH64_NOSIMD' });
    for (const arch of AOSC_ARCH_GROUPS.get('mainline')!.filter((a) => a !== 'amd64' && a !== 'loongarch64_nosimd')) {
      expect(byArch.get(arch)).toEqual({ kind: 'group', suffix: 'MAINLINE' });
    }
    expect(byArch.get('i486')).toEqual({ kind: 'generic' });
    expect(ambiguous).toEqual([]);
  });

  it('lists architectures that two overriding groups claim', () => {
    const { ambiguous, byArch } = resolveArchOverrides(new Set(['64BIT', 'MAINLINE', 'RISCV64']));
    expect(ambiguous.map((a) => a.arch)).toEqual(['amd64', 'arm64', 'loongarch64', 'loongarch64_nosimd', 'loongson3', 'ppc64el']);
    expect(ambiguous[0]!.groups).toEqual(['mainline', '64bit']);
    expect(byArch.get('riscv64')).toEqual({ kind: 'arch', suffix: 'RISCV64' });
    expect(byArch.get('mips64r6el')).toEqual({ kind: 'group', suffix: '64BIT' });
  });
});
