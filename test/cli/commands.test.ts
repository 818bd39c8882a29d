/**
 * attnc's commands in-process (`runCli` with captured output): help texts, usage errors and
 * their exit codes, diagnostics as text and JSON, internal errors, and what each command prints
 * or writes when no GPU is involved. The executable itself is tested in `attnc.test.ts`.
 */
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InternalError, checkSource, compile } from '../../index.ts';
import { COMMANDS, runCli, useColor } from '../../cli/attnc.ts';
import { compareOutputs } from '../../cli/commands/check.ts';
import type { Command, Io } from '../../cli/command.ts';
import { programsEqual } from '../../compiler/ir-equal.ts';
import { callAttnc, npyFloat32, ROOT, tempDir } from './harness.ts';

const SPECS = [
  'stdlib/gqa.attn',
  'stdlib/mha.attn',
  'stdlib/onnx_attention.attn',
  'stdlib/relpos_bias.attn',
  'stdlib/sliding_window.attn',
  'stdlib/softcap.attn',
  'examples/causal_linear.attn',
  'examples/gqa_softcap.attn',
];

async function writeSpec(text: string, name = 'spec.attn'): Promise<string> {
  const path = join(await tempDir(), name);
  await writeFile(path, text);
  return path;
}

describe('help and usage', () => {
  it.each(COMMANDS.map((c) => c.name))('%s --help and help %s print its usage', async (name) => {
    const flag = await callAttnc([name, '--help']);
    expect(flag.code).toBe(0);
    expect(flag.stdout.startsWith(`Usage: attnc ${name} `)).toBe(true);
    expect(flag.stdout).toContain('--format text|json');
    const help = await callAttnc(['help', name]);
    expect(help).toEqual(flag);
  });

  it('lists every command in the main help; no command at all is a usage error', async () => {
    const help = await callAttnc(['help']);
    expect(help.code).toBe(0);
    for (const c of COMMANDS) expect(help.stdout).toContain(`  ${c.name} `);
    const none = await callAttnc([]);
    expect(none.code).toBe(2);
    expect(none.stderr).toBe(help.stdout);
  });

  it.each([
    [['frob'], 'unknown command `frob`', 'attnc --help'],
    [['run', 'x.attn', '--bogus'], "Unknown option '--bogus'", 'attnc run --help'],
    [['compile', 'examples/gqa_softcap.attn'], 'compile needs -o DIR', 'attnc compile --help'],
    [['explain'], 'explain expects one SPEC file', 'attnc explain --help'],
    [['run', 'x.attn', '--backend', 'tpu'], '--backend must be cpu or webgpu', 'attnc run --help'],
    [['run', 'x.attn', '--in', 'Q'], '--in expects NAME=VALUE, got `Q`', 'attnc run --help'],
    [
      ['explain', 'x.attn', '--format', 'xml'],
      '--format must be text or json',
      'attnc explain --help',
    ],
    [
      ['fmt', 'x.attn', '--check', '--write'],
      '--check and --write exclude each other',
      'attnc fmt --help',
    ],
    [['bench', 'x.attn', '--runs', '0'], '--runs expects an integer >= 1', 'attnc bench --help'],
  ])('%j is a usage error (exit 2)', async (args, message, help) => {
    const r = await callAttnc(args);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`attnc: error: ${message}`);
    expect(r.stderr).toContain(`(see \`${help}\`)`);
    expect(r.stdout).toBe('');
  });

  it('a missing file is exit 2 without a pointer to --help', async () => {
    const r = await callAttnc(['explain', 'no/such.attn']);
    expect(r).toEqual({
      code: 2,
      stdout: '',
      stderr: 'attnc: error: cannot read `no/such.attn`: no such file\n',
    });
  });
});

describe('diagnostics', () => {
  const bad = 'attention bad {\n  input X[i]\n  O[i, g] = X[i]\n  output O\n}\n';

  it('as JSON: one object with the diagnostics and 1-based positions', async () => {
    const path = await writeSpec(bad);
    const r = await callAttnc(['explain', path, '--format', 'json']);
    expect(r.code).toBe(2);
    const { diagnostics } = JSON.parse(r.stderr);
    expect(diagnostics).toHaveLength(1);
    expect(diagnostics[0]).toMatchObject({
      code: 'E203',
      severity: 'error',
      span: { file: path, start: 36, end: 37 },
      line: 3,
      column: 8,
      endLine: 3,
      endColumn: 9,
    });
  });

  it('in colour only when the Io allows it', async () => {
    const path = await writeSpec(bad);
    expect((await callAttnc(['explain', path], { color: true })).stderr).toContain('\x1b[');
    expect((await callAttnc(['explain', path])).stderr).not.toContain('\x1b[');
    expect(useColor(true, {})).toBe(true);
    expect(useColor(true, { NO_COLOR: '1' })).toBe(false);
    expect(useColor(true, { NO_COLOR: '' })).toBe(true);
    expect(useColor(undefined, {})).toBe(false);
  });

  it('run reports bind errors as diagnostics at the declaration, exit 2', async () => {
    const dir = await tempDir();
    const spec = join(dir, 'add.attn');
    await writeFile(
      spec,
      'attention add {\n  input X[i]\n  input Y[i]\n  O[i] = X[i] + Y[i]\n  output O\n}\n',
    );
    await writeFile(join(dir, 'x.npy'), npyFloat32([2], [1, 2]));
    await writeFile(join(dir, 'y.npy'), npyFloat32([3], [1, 2, 3]));
    const r = await callAttnc([
      'run',
      spec,
      '--in',
      `X=${join(dir, 'x.npy')}`,
      '--in',
      `Y=${join(dir, 'y.npy')}`,
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`^${spec.replace(/[.]/g, '\\.')}:3:3: error\\[E603\\]: `));
    expect(r.stderr).toContain('3 |   input Y[i]');
  });
});

describe('internal errors', () => {
  const io = (env: Record<string, string> = {}): Io & { text: () => string } => {
    let err = '';
    return {
      out: () => undefined,
      err: (t) => void (err += t),
      color: false,
      env,
      readStdin: async () => '',
      text: () => err,
    };
  };
  const throwing = (error: unknown): Command => ({
    name: 'boom',
    summary: '',
    help: '',
    options: {},
    run: async () => {
      throw error;
    },
  });

  it('an InternalError exits 70 with "internal compiler error", its phase and a request to report', async () => {
    const sink = io();
    const code = await runCli(['boom'], sink, [
      throwing(new InternalError('no plan for S', 'wgsl')),
    ]);
    expect(code).toBe(70);
    expect(sink.text()).toMatch(/^attnc: internal compiler error \(in wgsl\): no plan for S\n/);
    expect(sink.text()).toContain('Please report it');
    expect(sink.text()).not.toMatch(/^\s+at /m);
  });

  it('any other unexpected exception is an internal error too; ATTN_BACKTRACE=1 adds the stack', async () => {
    const sink = io({ ATTN_BACKTRACE: '1' });
    const code = await runCli(['boom'], sink, [throwing(new TypeError('x is undefined'))]);
    expect(code).toBe(70);
    expect(sink.text()).toMatch(/^attnc: internal compiler error: x is undefined\n/);
    expect(sink.text()).toMatch(/^\s+at /m);
  });
});

describe('check: comparing outputs', () => {
  const f = (...xs: number[]) => Float32Array.from(xs);

  it('accepts |gpu - cpu| <= T * max(1, |cpu|), equal infinities and NaN against NaN', () => {
    const cpu = f(0, 1000, Infinity, NaN, -2);
    const gpu = f(1e-4, 1000.1, Infinity, NaN, -2.0001);
    expect(compareOutputs(cpu, gpu, 1e-4).bad).toBe(0);
    expect(compareOutputs(cpu, gpu, 0).bad).toBe(3);
  });

  it('rejects an infinity or NaN on one side only, whatever the tolerance', () => {
    const r = compareOutputs(f(Infinity, 1, NaN), f(3e38, NaN, 1), 1);
    expect(r.bad).toBe(3);
    expect(r.maxAbs).toBeNaN();
    expect(compareOutputs(f(Infinity), f(3e38), 1).maxAbs).toBe(Infinity);
  });

  it('reports the largest absolute and scaled differences', () => {
    // |Δ| = 0.5, 0.25, 0.125; scaled by max(1, |cpu|): 0.5 / 2, 0.25 / 1, 0.125 / 1.
    const r = compareOutputs(f(2, 0.5, 0), f(2.5, 0.75, 0.125), 1);
    expect(r).toEqual({ maxAbs: 0.5, maxRel: 0.25, bad: 0 });
  });
});

describe('explain', () => {
  it.each(SPECS)(
    '%s: the output checks to the IR after the passes, and with --passes none to the checked IR',
    async (spec) => {
      const text = await readFile(join(ROOT, spec), 'utf8');
      const compiled = compile(text, { fileName: spec });
      if (!compiled.ok) throw new Error(`${spec} does not compile`);
      const r = await callAttnc(['explain', spec]);
      expect(r.code).toBe(0);
      const again = checkSource(r.stdout, 'explained.attn');
      expect(again.diagnostics).toEqual([]);
      expect(again.programs).toHaveLength(compiled.specs.length);
      again.programs.forEach((p, i) =>
        expect(programsEqual(p, compiled.specs[i].scheduled)).toBe(true),
      );
      for (const s of compiled.specs) expect(r.stdout).toContain(`# ${s.name}: passes`);

      const unfused = await callAttnc(['explain', spec, '--passes', 'none']);
      const original = checkSource(text, spec);
      const plain = checkSource(unfused.stdout, 'explained.attn');
      plain.programs.forEach((p, i) => expect(programsEqual(p, original.programs[i])).toBe(true));
      const kernels = unfused.stdout.split('\n').filter((l) => /^# {3}k\d+_/.test(l));
      expect(kernels).toHaveLength(original.programs.reduce((n, p) => n + p.body.length, 0));
    },
  );

  it('--after stops after a pass, and --no-PASS skips one', async () => {
    const after = await callAttnc(['explain', 'stdlib/gqa.attn', '--after', 'tile']);
    expect(after.stdout).toMatch(/tile +applied/);
    expect(after.stdout).toMatch(/fuse +skipped: not selected/);
    expect(after.stdout).toContain('const M1 = ');
    expect(after.stdout).not.toContain('O_racc');
    const noGroup = await callAttnc(['explain', 'stdlib/gqa.attn', '--no-head-grouping']);
    expect(noGroup.stdout).toMatch(/head-grouping +skipped: not selected/);
    expect(noGroup.stdout).not.toContain('group hq / G');
    const tiled = await callAttnc(['explain', 'stdlib/gqa.attn', '--tile', 'm=16']);
    expect(tiled.stdout).toContain('tile m = 16');
    expect((await callAttnc(['explain', 'stdlib/gqa.attn', '--after', 'fusion'])).code).toBe(2);
  });
});

describe('compile, run, bench and fmt without a GPU', () => {
  it('compile puts each block of a multi-block file in its own folder', async () => {
    const dir = await tempDir();
    const r = await callAttnc(['compile', 'stdlib/relpos_bias.attn', '-o', dir]);
    expect(r.code).toBe(0);
    expect((await readdir(dir)).sort()).toEqual(['alibi', 'relpos_table']);
    expect(await readdir(join(dir, 'alibi'))).toContain('manifest.json');
    const one = await callAttnc([
      'compile',
      'stdlib/relpos_bias.attn',
      '-o',
      dir,
      '--attention',
      'nope',
    ]);
    expect(one.code).toBe(2);
    expect(one.stderr).toContain('no attention block named `nope`');
  });

  it('run without --out computes every output and writes none', async () => {
    const dir = await tempDir();
    const spec = join(dir, 'twice.attn');
    await writeFile(spec, 'attention twice {\n  input X[i]\n  O[i] = X[i] * 2\n  output O\n}\n');
    await writeFile(join(dir, 'x.npy'), npyFloat32([3], [1, 2, 3]));
    const r = await callAttnc(['run', spec, '--in', `X=${join(dir, 'x.npy')}`]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^twice on the CPU interpreter: /);
    expect(r.stdout).toContain('out O f32 [3]  (not written)');
  });

  it('run needs --attention for a file with several blocks', async () => {
    const r = await callAttnc(['run', 'stdlib/relpos_bias.attn']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      'has 2 attention blocks (alibi, relpos_table); choose one with --attention NAME',
    );
  });

  it('check and bench refuse extents fixed by a const, and unknown indices, before any GPU', async () => {
    const unknown = await callAttnc(['check', 'examples/gqa_softcap.attn', '--dims', 'g=4']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('has no index `g`; set b, e, f, hk, hq, m, p');
    // P and M are learnt from the subscripts `X[p, d]` and `X[m, d]`: consts `P = N`, `M = N`.
    const derived = await writeSpec(
      'attention d {\n  input X[n, d]\n  S[p, m] = X[p, d] * X[m, d]\n  output S\n}\n',
    );
    for (const command of ['check', 'bench']) {
      const r = await callAttnc([command, derived, '--dims', 'P=4']);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('the extent P of `p` is fixed by `const P` in `d`; set d, n');
    }
  });

  it('bench --backend cpu prints a table with the median of the runs', async () => {
    const r = await callAttnc([
      'bench',
      'stdlib/mha.attn',
      '--dims',
      'p=3,m=4,e=2,f=2',
      '--runs',
      '3',
      '--backend',
      'cpu',
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('bench mha: B=2 E=2 F=2 H=2 M=4 P=3');
    expect(r.stdout).toMatch(/^ {2}backend +median +min +max +runs$/m);
    expect(r.stdout).toMatch(/^ {2}cpu +[\d.]+ ms +[\d.]+ ms +[\d.]+ ms +3$/m);
  });

  it('fmt reads standard input for -, and reports syntax errors with exit 2', async () => {
    const r = await callAttnc(['fmt', '-'], {
      stdin: 'attention a{input X[i];O[i]=X[i]*2;output O}',
    });
    expect(r).toEqual({
      code: 0,
      stdout: 'attention a {\n  input X[i]\n  O[i] = X[i] * 2\n  output O\n}\n',
      stderr: '',
    });
    const bad = await callAttnc(['fmt', '-'], { stdin: 'attention a {\n  input X[i\n}\n' });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^<stdin>:3:1: error\[E010\]: /);
  });

  it('fmt --check passes on the stdlib; --write rewrites only what changes', async () => {
    const stdlib = SPECS.filter((s) => s.startsWith('stdlib/'));
    expect(await callAttnc(['fmt', '--check', ...stdlib])).toEqual({
      code: 0,
      stdout: '',
      stderr: '',
    });
    const path = await writeSpec(
      'attention a {\n    input X[i]\n  O[i]   =   X[i]\n  output O\n}\n',
    );
    const r = await callAttnc(['fmt', '--write', path]);
    expect(r).toEqual({ code: 0, stdout: `formatted ${path}\n`, stderr: '' });
    expect(await readFile(path, 'utf8')).toBe(
      'attention a {\n  input X[i]\n  O[i] = X[i]\n  output O\n}\n',
    );
    expect((await callAttnc(['fmt', '--write', path])).stdout).toBe('');
  });
});
