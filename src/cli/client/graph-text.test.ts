import { describe, expect, it } from 'vitest';
import { graphDot, graphTree } from './graph-text.js';
import type { GraphOut } from './views.js';

const node = (id: number, pkgbase: string, state = 'built', pass = 1) => ({ id, pkgbase, arch: 'x86_64', pass, state });

describe('graphTree', () => {
  it('draws each build nothing needs with what it needs below it, a shared dependency in full once, then (*)', () => {
    // app needs gui and net; both need zlib; tool stands alone.
    const graph: GraphOut = {
      iteration: 1,
      nodes: [node(1, 'zlib'), node(2, 'gui', 'building'), node(3, 'net'), node(4, 'app', 'blocked'), node(5, 'tool'), node(6, 'libc')],
      edges: [{ from: 2, to: 1 }, { from: 3, to: 1 }, { from: 4, to: 2 }, { from: 4, to: 3 }, { from: 1, to: 6 }],
      cycles: [],
    };
    expect(graphTree(graph)).toBe([
      'app/x86_64 blocked',
      '├── gui/x86_64 building',
      '│   └── zlib/x86_64 built',
      '│       └── libc/x86_64 built',
      '└── net/x86_64 built',
      '    └── zlib/x86_64 built (*)',
      'tool/x86_64 built',
    ].join('\n'));
  });

  it('draws a cycle\'s second pass, and stops at a build already above it', () => {
    const graph: GraphOut = { iteration: 1, nodes: [node(1, 'a'), node(2, 'b'), node(3, 'a', 'blocked', 2)], edges: [{ from: 1, to: 2 }, { from: 2, to: 1 }, { from: 3, to: 2 }], cycles: [] };
    expect(graphTree(graph)).toBe(['a/x86_64 (pass 2) blocked', '└── b/x86_64 built', '    └── a/x86_64 built', '        └── b/x86_64 built (*)'].join('\n'));
  });
});

describe('graphDot', () => {
  it('writes a node per build and an edge per dependency, quoting names', () => {
    const graph: GraphOut = { iteration: 1, nodes: [node(1, 'zlib'), node(2, 'lib"png', 'failed')], edges: [{ from: 2, to: 1 }], cycles: [] };
    expect(graphDot('my "set"', graph)).toBe([
      'digraph "my \\"set\\"" {',
      '  rankdir=LR;',
      '  1 [label="zlib/x86_64\\nbuilt"];',
      '  2 [label="lib\\"png/x86_64\\nfailed"];',
      '  2 -> 1;',
      '}',
    ].join('\n'));
  });
});
