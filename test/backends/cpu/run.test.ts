import { describe, expect, it } from 'vitest';
import { interpret } from '../../../backends/cpu/interpret.ts';
import { InternalError } from '../../../compiler/diagnostics/diagnostic.ts';
import { f16ToF32, f32ToF16, tensor } from '../../../compiler/tensor.ts';
import {
  A,
  boolConst,
  eq,
  icmp,
  input,
  int,
  intConst,
  lit,
  mul,
  neg,
  param,
  paramDecl,
  program,
  read,
  select,
} from '../../helpers/ir-build.ts';
import { f32, run } from './harness.ts';
import { attentionProgram } from './programs.ts';

const scaleProgram = program({
  inputs: [input('X', ['i'])],
  params: [
    paramDecl('scale', 'f32', lit(2)),
    paramDecl('flip', 'bool', { kind: 'bool', value: false }),
    paramDecl('shift', 'i32', lit(0)),
  ],
  body: [
    eq(
      'Y',
      ['i'],
      select(
        param('flip'),
        neg(mul(param('scale'), read('X', 'i'))),
        mul(param('scale'), read('X', 'i')),
      ),
    ),
    eq('Z', ['i'], read('X', A.add(A.index('i'), A.symbol('shift')))),
  ],
  outputs: ['Y', 'Z'],
});
const x = tensor('f32', [3], [1, -2, 0.5]);

describe('running a program', () => {
  it('params take their defaults unless overridden (f32, bool and i32)', () => {
    expect(run(scaleProgram, { X: x }).out('Y')).toEqual([2, -4, 1]);
    expect(run(scaleProgram, { X: x }, { params: { scale: 3 } }).out('Y')).toEqual([3, -6, 1.5]);
    expect(run(scaleProgram, { X: x }, { params: { flip: true } }).out('Y')).toEqual([-2, 4, -1]);
    expect(run(scaleProgram, { X: x }, { params: { shift: 1 } }).out('Z')).toEqual([-2, 0.5, 0]);
  });

  it('a param default may use extents; bool consts are read as values', () => {
    const p = program({
      inputs: [input('X', ['i'])],
      params: [paramDecl('n', 'f32', int('I'))],
      consts: [
        intConst('Two', 2),
        { name: 'on', type: 'bool', value: icmp('<', 'Two', 'I'), origin: { start: 0, end: 0 } },
      ],
      body: [eq('Y', ['i'], select(boolConst('on'), mul(param('n'), int('Two')), lit(-1)))],
      outputs: ['Y'],
    });
    expect(run(p, { X: x }).out('Y')).toEqual([6, 6, 6]);
  });

  it('f16 inputs are decoded exactly; outputs are f32', () => {
    const values = [0.1, -3.14159, 65504, 1e-5];
    const half = tensor('f16', [4], values);
    const p = program({
      inputs: [input('X', ['i'], 'f16')],
      body: [eq('Y', ['i'], mul(read('X', 'i'), lit(2)))],
      outputs: ['Y'],
    });
    const result = interpret(p, { X: half });
    if (!result.ok) throw new Error('refused');
    expect(result.outputs.Y.dtype).toBe('f32');
    expect([...(result.outputs.Y.data as Float32Array)]).toEqual(
      f32(values.map((v) => 2 * f16ToF32(f32ToF16(v)))),
    );
  });

  it('a piecewise definition over disjoint filters concatenates two sources', () => {
    const m = A.index('m');
    const p = program({
      inputs: [input('KP', ['mp']), input('KN', ['mn'])],
      consts: [intConst('M', A.add(A.symbol('MP'), A.symbol('MN')))],
      body: [
        eq('KC', ['m'], read('KP', m), { filter: icmp('<', m, 'MP') }),
        eq('KC', ['m'], read('KN', A.sub(m, A.symbol('MP'))), { filter: icmp('>=', m, 'MP') }),
      ],
      outputs: ['KC'],
    });
    const r = run(p, { KP: tensor('f32', [2], [1, 2]), KN: tensor('f32', [3], [3, 4, 5]) });
    expect(r.out('KC')).toEqual([1, 2, 3, 4, 5]);
    expect(r.present('KC')).toEqual([1, 1, 1, 1, 1]);
  });

  it('tensors holds every tensor, inputs included; an input may be an output', () => {
    const p = program({
      inputs: [input('X', ['i'])],
      body: [eq('Y', ['i'], read('X', 'i'))],
      outputs: ['X', 'Y'],
    });
    const result = interpret(p, { X: x });
    if (!result.ok) throw new Error('refused');
    expect([...result.tensors.keys()]).toEqual(['X', 'Y']);
    expect([...result.tensors.get('X')!.present]).toEqual([1, 1, 1]);
    expect([...(result.outputs.X.data as Float32Array)]).toEqual([1, -2, 0.5]);
  });
});

describe('bad calls are diagnostics, bad IR is an InternalError', () => {
  const matmul = program({
    inputs: [input('A', ['i', 'k']), input('B', ['k', 'j'])],
    body: [eq('C', ['i', 'j'], mul(read('A', 'i', 'k'), read('B', 'k', 'j')), { over: ['k'] })],
    outputs: ['C'],
  });
  const codes = (r: ReturnType<typeof interpret>) => (r.ok ? [] : r.diagnostics.map((d) => d.code));

  it('missing input → E601', () => {
    expect(codes(interpret(matmul, { A: tensor('f32', [2, 3]) }))).toEqual(['E601']);
  });

  it('conflicting extents → E603', () => {
    expect(
      codes(interpret(matmul, { A: tensor('f32', [2, 3]), B: tensor('f32', [4, 2]) })),
    ).toEqual(['E603']);
  });

  it('data that does not fill the shape → E605', () => {
    const short = { dtype: 'f32' as const, shape: [2, 3], data: new Float32Array(5) };
    expect(codes(interpret(matmul, { A: short, B: tensor('f32', [3, 2]) }))).toEqual(['E605']);
  });

  it('a zero-sized dimension → E606, even when a const divides by that extent', () => {
    const gqa = attentionProgram({});
    const inputs = {
      Q: tensor('f32', [1, 2, 3, 4]),
      K: tensor('f32', [1, 0, 3, 4]),
      V: tensor('f32', [1, 0, 3, 2]),
    };
    expect(codes(interpret(gqa, inputs))).toEqual(['E606', 'E606']);
  });

  it('unknown or mistyped params → E604, E609', () => {
    expect(codes(interpret(scaleProgram, { X: x }, { params: { nope: 1 } }))).toEqual(['E604']);
    expect(codes(interpret(scaleProgram, { X: x }, { params: { flip: 1 } }))).toEqual(['E609']);
  });

  it('reading a tensor that is never defined throws InternalError', () => {
    const bad = program({
      inputs: [input('X', ['i'])],
      body: [eq('Y', ['i'], read('Nope', 'i'))],
      outputs: ['Y'],
    });
    expect(() => interpret(bad, { X: x })).toThrow(InternalError);
  });

  it('an index that no loop binds throws InternalError', () => {
    const bad = program({
      inputs: [input('X', ['i']), input('W', ['j'])],
      body: [eq('Y', ['i'], read('W', 'j'))],
      outputs: ['Y'],
    });
    expect(() => interpret(bad, { X: x, W: x })).toThrow(InternalError);
  });
});
