/**
 * Well-formedness of IR: the invariants every producer (checker, passes) must keep and every
 * consumer (printer, backends) may rely on. Run after checking and after every pass in tests
 * and under `--verify`. A violation is a compiler bug, never a user error.
 */
import * as A from './affine.ts';
import { InternalError, assertNever } from './diagnostics/diagnostic.ts';
import type { Affine, Expr, IndexName, Program, Statement, TensorName } from './ir.ts';
import { atomsOfExpr, affinesOf, childExprs, forEachExpr, tensorShapes } from './ir-walk.ts';

type ValueType = 'real' | 'bool';

export function verifyProgram(p: Program): string[] {
  const problems: string[] = [];
  const fail = (where: string, what: string) => problems.push(`${where}: ${what}`);
  const ranks = new Map<TensorName, number>();
  const dtypes = new Map<TensorName, string>();
  for (const input of p.inputs) {
    ranks.set(input.name, input.indices.length);
    dtypes.set(input.name, input.dtype);
  }
  const indexNames = new Set(p.indices.map((i) => i.name as string));
  const symbols = new Set<string>([
    ...p.indices.map((i) => i.extent),
    ...p.consts.filter((c) => c.type === 'i32').map((c) => c.name),
    ...p.params.filter((x) => x.type === 'i32').map((x) => x.name),
  ]);
  const boolNames = new Set([
    ...p.consts.filter((c) => c.type === 'bool').map((c) => c.name),
    ...p.params.filter((x) => x.type === 'bool').map((x) => x.name),
  ]);
  const realParams = new Set(p.params.filter((x) => x.type === 'f32').map((x) => x.name));

  const checkAffine = (a: Affine, where: string, allowed: ReadonlySet<string>) => {
    const canonical = A.makeAffine(a.terms, a.constant);
    if (A.affineKey(canonical) !== A.affineKey(a)) fail(where, 'index expression is not canonical');
    for (const atom of A.atomsOf(a)) {
      if (atom.kind === 'index' && !allowed.has(atom.name))
        fail(where, `index \`${atom.name}\` is not in scope`);
      if (atom.kind === 'symbol' && !symbols.has(atom.name))
        fail(where, `unknown symbol \`${atom.name}\``);
      if (atom.kind === 'read') {
        if (dtypes.get(atom.tensor) !== 'i32')
          fail(where, `integer read of non-i32 tensor \`${atom.tensor}\``);
        if (ranks.get(atom.tensor) !== atom.at.length)
          fail(where, `\`${atom.tensor}\` read with ${atom.at.length} subscripts`);
      }
    }
  };

  const typeOf = (e: Expr, where: string): ValueType => {
    const expect = (x: Expr, t: ValueType) => {
      if (typeOf(x, where) !== t) fail(where, `expected a ${t} operand in \`${e.kind}\``);
    };
    switch (e.kind) {
      case 'literal':
      case 'int':
        return 'real';
      case 'bool':
      case 'icompare':
        return 'bool';
      case 'param':
        if (!realParams.has(e.name) && !boolNames.has(e.name))
          fail(where, `unknown param \`${e.name}\``);
        return boolNames.has(e.name) ? 'bool' : 'real';
      case 'const':
        if (!boolNames.has(e.name)) fail(where, `unknown bool const \`${e.name}\``);
        return 'bool';
      case 'read': {
        const rank = ranks.get(e.tensor);
        if (rank === undefined) fail(where, `reads \`${e.tensor}\` before it is defined`);
        else if (rank !== e.at.length)
          fail(where, `\`${e.tensor}\` read with ${e.at.length} subscripts, rank ${rank}`);
        if (dtypes.get(e.tensor) === 'i32')
          fail(where, `i32 tensor \`${e.tensor}\` read as a value (use an int node)`);
        return dtypes.get(e.tensor) === 'bool' ? 'bool' : 'real';
      }
      case 'neg':
      case 'arith':
      case 'call':
        childExprs(e).forEach((c) => expect(c, 'real'));
        return 'real';
      case 'compare':
        childExprs(e).forEach((c) => expect(c, 'real'));
        return 'bool';
      case 'not':
      case 'logical':
        childExprs(e).forEach((c) => expect(c, 'bool'));
        return 'bool';
      case 'select': {
        expect(e.cond, 'bool');
        const t = typeOf(e.then, where);
        expect(e.else, t);
        return t;
      }
      default:
        return assertNever(e, 'expression');
    }
  };

  const defined = new Set<TensorName>(p.inputs.map((i) => i.name));
  p.body.forEach((s, n) => {
    const where = `statement ${n} (\`${s.target}\`)`;
    const prev = p.body[n - 1];
    const piece =
      prev?.target === s.target &&
      prev.kind === 'equation' &&
      s.kind === 'equation' &&
      prev.filter !== null &&
      s.filter !== null &&
      prev.indices.join() === s.indices.join();
    if (defined.has(s.target) && !piece) fail(where, 'target defined twice or is an input');
    const scope = new Set<string>([...s.indices, ...(s.reduce?.over ?? [])]);
    if (scope.size !== s.indices.length + (s.reduce?.over.length ?? 0))
      fail(where, 'an index repeats on the left or overlaps the reduced indices');
    for (const i of scope) if (!indexNames.has(i)) fail(where, `index \`${i}\` has no declaration`);
    if (s.kind === 'recurrence') {
      if (s.axis < 0 || s.axis >= s.indices.length) fail(where, 'recurrence axis out of range');
      ranks.set(s.target, s.indices.length);
      dtypes.set(s.target, 'f32');
      checkSelfReads(s, where, fail);
      const initScope = new Set(s.indices.filter((_, k) => k !== s.axis) as string[]);
      for (const a of affinesOf(s.init)) checkAffine(a, `${where} init`, initScope);
      if (typeOf(s.init, where) !== 'real') fail(where, 'init is not real');
    }
    for (const e of [s.body, ...(s.filter ? [s.filter] : [])])
      for (const a of affinesOf(e)) checkAffine(a, where, scope);
    // A condition may define a boolean tensor (a mask), but only element-wise.
    const bodyType = typeOf(s.body, where);
    if (bodyType === 'bool' && (s.reduce || s.kind === 'recurrence'))
      fail(where, 'a reduction or recurrence of booleans');
    if (s.reduce?.op === 'topk') {
      if (s.kind !== 'equation' || s.reduce.over.length !== 1)
        fail(where, '`topk` reduces one index in an equation');
      if (!s.reduce.rank || !s.indices.includes(s.reduce.rank))
        fail(where, '`topk` has no rank index on the left');
    } else if (s.reduce?.rank) fail(where, 'only `topk` has a rank index');
    if (s.filter && typeOf(s.filter, where) !== 'bool') fail(where, 'filter is not a condition');
    for (const atom of atomsOfExpr(s.body))
      if (atom.kind === 'read' && !defined.has(atom.tensor) && atom.tensor !== s.target)
        fail(where, `reads \`${atom.tensor}\` before it is defined`);
    defined.add(s.target);
    ranks.set(s.target, s.indices.length);
    dtypes.set(s.target, s.reduce?.op === 'topk' ? 'i32' : bodyType === 'bool' ? 'bool' : 'f32');
  });
  for (const o of p.outputs)
    if (!p.body.some((s) => s.target === o)) fail('outputs', `output \`${o}\` is not computed`);
  if (p.outputs.length === 0) fail('outputs', 'no output');
  tensorShapes(p);
  return problems;
}

function checkSelfReads(
  s: Extract<Statement, { kind: 'recurrence' }>,
  where: string,
  fail: (w: string, m: string) => void,
): void {
  const expected = s.indices.map((i) => A.affineKey(A.index(i as IndexName)));
  for (const e of [s.body, ...(s.filter ? [s.filter] : [])]) {
    forEachExpr(e, (x) => {
      if (
        x.kind === 'read' &&
        x.tensor === s.target &&
        !x.at.every((a, k) => A.affineKey(a) === expected[k])
      ) {
        fail(where, 'recurrence reads itself away from the current step');
      }
    });
  }
}

/** Throws an InternalError listing every violated invariant. */
export function assertValidProgram(p: Program, phase = 'ir'): void {
  const problems = verifyProgram(p);
  if (problems.length > 0)
    throw new InternalError(
      `invalid IR after ${phase} in \`${p.name}\`:\n  ${problems.join('\n  ')}`,
      phase,
    );
}
