import { describe, expect, it } from 'vitest';
import { readShellVariables } from './abbs-shell.js';

/** The values of a file's variables (expected values below were checked with bash 5.2, `shopt -s extglob`). */
function values(source: string, inherited?: Map<string, string>): Record<string, string> {
  const scope = inherited ? readShellVariables([...inherited].map(([k, v]) => `${k}='${v}'`).join('\n'), 'spec').variables : undefined;
  const { variables } = readShellVariables(source, 'defines', scope);
  return Object.fromEntries([...variables].map(([k, v]) => [k, v.value]));
}

describe('readShellVariables: quoting and lines', () => {
  it('reads plain, single- and double-quoted values with their escapes', () => {
    const source = [`A=plain`, `B='single $V "q"'\\''x'`, `C="a\\$b\\"c\\\\d\\e"`, `D=$'tab\\there'`, `E=`, `F=""`].join('\n');
    expect(values(source)).toEqual({ A: 'plain', B: `single $V "q"'x`, C: 'a$b"c\\d\\e', D: 'tab\there', E: '', F: '' });
  });

  it('joins backslash continuations, inside and outside double quotes', () => {
    expect(values('D=one\\\ntwo\nE="line1 \\\nline2"\n')).toEqual({ D: 'onetwo', E: 'line1 line2' });
  });

  it('keeps multi-line quoted values and knows the line of each assignment', () => {
    const { variables } = readShellVariables('# comment\nA="x\ny"\n\nB=1\n', 'defines');
    expect(variables.get('A')).toMatchObject({ value: 'x\ny', line: 2, file: 'defines' });
    expect(variables.get('B')).toMatchObject({ value: '1', line: 5 });
  });

  it('treats # as a comment only at the start of a word', () => {
    expect(values('F=x#notcomment # comment\n  # indented comment\nG="#hash" # c\n')).toEqual({ F: 'x#notcomment', G: '#hash' });
  });

  it('reads several assignments on a line, `export` and `+=`', () => {
    expect(values('A=1 B=$A; C=3\nexport D="d" E=e\nexport A\nI=abc\nI+=def\n')).toEqual({ A: '1', B: '1', C: '3', D: 'd', E: 'e', I: 'abcdef' });
  });

  it('reads arrays, their elements and their expansions', () => {
    const source = 'ARR=( a "b c" # comment\n d )\nG="${ARR[@]}|$ARR|${ARR[1]}|${ARR[*]}"\nARR+=(e)\nH=( "${ARR[@]}" f )\n';
    const { variables } = readShellVariables(source, 'defines');
    expect(variables.get('G')!.value).toBe('a b c d|a|b c|a b c d');
    expect(variables.get('ARR')!.elements).toEqual(['a', 'b c', 'd', 'e']);
    expect(variables.get('H')!.elements).toEqual(['a', 'b c', 'd', 'e', 'f']);
  });
});

describe('readShellVariables: references and expansions', () => {
  it('expands $VAR and ${VAR}, including variables inherited from spec and earlier ones', () => {
    expect(values('SRC="zlib-$VER.tar.xz"\nX=${SRC}-${VER}\n', new Map([['VER', '1.3.1']]))).toMatchObject({ SRC: 'zlib-1.3.1.tar.xz', X: 'zlib-1.3.1.tar.xz-1.3.1' });
  });

  it('does every parameter expansion abbs trees use, glob patterns included', () => {
    const source =
      'V=1.2.3-rc1\nA="${V%.*}|${V%%.*}|${V#*.}|${V##*.}|${V/./_}|${V//./_}|${V/#1/X}|${V/%rc1/final}|${V:0:3}|${V: -3}|${V:2}|${#V}|${V^^}|${U:-def}|${V:+set}|${U:+set}|${V/[0-9]/N}|${V//[!0-9]/}|${V/?(-)rc*/}"\n';
    expect(values(source).A).toBe('1.2|1|2.3-rc1|3-rc1|1_2.3-rc1|1_2_3-rc1|X.2.3-rc1|1.2.3-final|1.2|rc1|2.3-rc1|9|1.2.3-RC1|def|set||N.2.3-rc1|1231|1.2.3');
  });

  it('matches quoted pattern text literally and unquoted expansions as patterns', () => {
    const source = `V=1.2.3-rc1\nL='*'\nK="\${V%"-rc1"}"\nM="\${V/$L/all}"\nN="\${V/"$L"/lit}"\nJ="\${V/-/\\~}"\n`;
    expect(values(source)).toMatchObject({ K: '1.2.3', M: 'all', N: '1.2.3-rc1', J: '1.2.3~rc1' });
  });

  it('records unset references, but not `X="$X more"`', () => {
    const { variables } = readShellVariables('BUILDDEP="$BUILDDEP foo"\nB="${BUIDDEP__NOJAVA}"\nC="${MISSING:-ok}"\nD="$B"\n', 'defines');
    expect(variables.get('BUILDDEP')).toMatchObject({ value: ' foo', unset: [] });
    expect(variables.get('B')).toMatchObject({ value: '', unset: [{ name: 'BUIDDEP__NOJAVA', file: 'defines', line: 2 }] });
    expect(variables.get('C')).toMatchObject({ value: 'ok', unset: [] });
    // Through another variable, the reference still counts.
    expect(variables.get('D')!.unset.map((u) => u.name)).toEqual(['BUIDDEP__NOJAVA']);
  });
});

describe('readShellVariables: what it does not evaluate', () => {
  it('attaches a command substitution to the variable, and to those made from it', () => {
    const { variables, issues } = readShellVariables('A="x $(uname -m) y"\nB="${A}z"\nC=fine\n', 'defines');
    expect(variables.get('A')).toMatchObject({ value: 'x  y', problems: [{ file: 'defines', line: 1, message: expect.stringContaining('command substitution "$(uname -m)"') }] });
    expect(variables.get('B')!.problems).toEqual(variables.get('A')!.problems);
    expect(variables.get('C')!.problems).toEqual([]);
    expect(issues).toEqual([]);
  });

  it('marks every variable an `if` block assigns, and reads on after `fi`', () => {
    const source = 'BUILDDEP="a"\nif [[ "${CROSS:-$ARCH}" != "riscv64" ]]; then\n\tBUILDDEP+=" qt-5"\n\tNEW=1\nfi\nAFTER=2\n';
    const { variables } = readShellVariables(source, 'defines');
    expect(variables.get('BUILDDEP')).toMatchObject({ value: 'a', problems: [{ line: 2, message: expect.stringContaining('"if" block') }] });
    expect(variables.get('NEW')!.problems).toHaveLength(1);
    expect(variables.get('AFTER')).toMatchObject({ value: '2', problems: [] });
  });

  it('skips function definitions and reports commands with their line', () => {
    const source = 'BUILD_FINAL() {\n    export MAKE_AFTER="x}"\n}\nalias X=\'y\'\nA=1 make\nB=2\n';
    const { variables, issues } = readShellVariables(source, 'defines');
    expect([...variables.keys()]).toEqual(['B']);
    expect(issues).toEqual([
      { file: 'defines', line: 4, message: 'the command "alias" is not run (quarters reads assignments only): skipped' },
      { file: 'defines', line: 5, message: 'an assignment before a command ("make") applies only to that command, which is not run: skipped' },
    ]);
  });

  it('reports a test or a group as a command and skips its line', () => {
    const { variables, issues } = readShellVariables('[[ $ARCH = amd64 ]] && X=1\n{ Y=2; }\nZ=3\n', 'defines');
    expect([...variables.keys()]).toEqual(['Z']);
    expect(issues.map((i) => `${i.line}: ${i.message}`)).toEqual([
      '1: the command "[[" is not run (quarters reads assignments only): skipped',
      '2: the command "{" is not run (quarters reads assignments only): skipped',
    ]);
  });

  it('reports what cannot start an array element, and goes on', () => {
    const { variables, issues } = readShellVariables('A=(a ; b | c)\nB=1\n', 'defines');
    expect(variables.get('A')!.elements).toEqual(['a', 'b', 'c']);
    expect(variables.get('B')!.value).toBe('1');
    expect(issues.map((i) => `${i.line}: ${i.message}`)).toEqual([
      '1: unexpected ";" inside the array "(" ... ")": skipped',
      '1: unexpected "|" inside the array "(" ... ")": skipped',
    ]);
  });

  it('reports an unclosed quote at the line where it opens, without throwing', () => {
    const { variables, issues } = readShellVariables('A=1\nB="never closed\nC=3\n', 'defines');
    expect(issues).toEqual([{ file: 'defines', line: 2, message: 'the quote " is never closed' }]);
    expect(variables.get('A')!.value).toBe('1');
  });

  it('gives arithmetic, indirection, positional parameters and backticks a problem each', () => {
    const { variables } = readShellVariables('A="$((1+2))"\nR=A\nB="${!R}"\nC="$1"\nD="`date`"\nE="${R:$X}"\n', 'defines');
    const messages = (name: string): string[] => variables.get(name)!.problems.map((p) => `${p.line}: ${p.message}`);
    expect(messages('A')).toEqual(['1: arithmetic expansion "$((1+2))" is not evaluated (it expands to nothing here)']);
    expect(messages('B')).toEqual(['3: indirect expansion in "${!R}" is not supported (it expands to nothing here)']);
    expect(messages('C')).toEqual(['4: the special parameter "$1" has no value here (it expands to nothing)']);
    expect(messages('D')).toEqual(['5: command substitution "`date`" is not evaluated (it expands to nothing here)']);
    expect(messages('E')).toEqual(['6: the substring expansion "${R:$X}" needs plain numbers here (it expands to nothing)']);
  });

  it('skips a whole `case` block, nested keywords and quoted keywords included', () => {
    const source = 'case "$ARCH" in\n  amd64) X="fi done"; if true; then Y=1; fi ;;\n  *) X=2 ;;\nesac\nZ=3\n';
    const { variables, issues } = readShellVariables(source, 'defines');
    expect(variables.get('X')!.problems[0]!.message).toBe('the "case" block here is not evaluated (quarters reads assignments, not shell logic)');
    expect(variables.get('Y')!.problems).toHaveLength(1);
    expect(variables.get('Z')).toMatchObject({ value: '3', problems: [] });
    expect(issues).toEqual([]);
  });

  it('evaluates patterns on long values by scanning, not backtracking, and refuses values beyond its limit', () => {
    // With a backtracking translation these took minutes; bash gives the same answers.
    const long = 'ab'.repeat(4096);
    const { variables } = readShellVariables(`V=${long}\nW="\${V//@(a|ab)/z}"\nX="\${V%*a*a*a*a*x}"\nY="\${V//a?(*b)/z}"\nZ="\${V}c"\nT="\${Z%c}"\n`, 'defines');
    expect(variables.get('W')!.value).toBe('z'.repeat(4096));
    expect(variables.get('X')!.value).toBe(long);
    expect(variables.get('Y')!.value).toBe('z');
    expect(variables.get('T')).toMatchObject({ value: `${long}c`, problems: [{ line: 6, message: expect.stringContaining('8193 characters long, too long for a pattern expansion') }] });
  });

  it('refuses nesting deep enough to exhaust the stack, with a problem instead of a crash', () => {
    const deep = 5000;
    const { variables } = readShellVariables(`A="\${a:-${'${a:-'.repeat(deep)}x${'}'.repeat(deep)}}"\nV=abc\nP="\${V%${'@('.repeat(deep)}x${')'.repeat(deep)}}"\nB=after\n`, 'defines');
    expect(variables.get('A')!.problems[0]!.message).toBe('expansions nested more than 64 deep are not evaluated (this one expands to nothing here)');
    expect(variables.get('P')).toMatchObject({ value: 'abc', problems: [{ line: 3, message: expect.stringContaining('groups nested more than 32 deep') }] });
    expect(variables.get('B')!.value).toBe('after');
  });

  it('reports an unsupported pattern and leaves the value unchanged', () => {
    const { variables } = readShellVariables('V=abc\nW="${V/a!(b)/x}"\n', 'defines');
    expect(variables.get('W')).toMatchObject({ value: 'abc', problems: [{ line: 2, message: expect.stringContaining('"!(...)" is supported only as the whole pattern') }] });
  });
});
