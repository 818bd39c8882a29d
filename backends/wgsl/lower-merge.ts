/**
 * The split-KV merge kernel of a fused group (Flash-Decoding's reduction): one invocation per
 * output element combines the partials the splits wrote, with the same rescaling the running
 * values do across tiles, then evaluates the output's expression.
 *
 *   softmax:  M = max over the splits that saw a key;  L = Σ l_s · exp(m_s − M);
 *             A = Σ acc_s · exp(m_s − M)   (splits that saw nothing are skipped, so no
 *             −inf − −inf; a row no split saw keeps L = 0 and the output's select gives 0)
 *   plain:    A = Σ acc_s
 * It also writes the group's finals (a log-sum-exp) from M and L (`lower-fused-finals.ts`).
 */
import * as A from '../../compiler/affine.ts';
import { extentName } from '../../compiler/ir.ts';
import type { FusedStatic } from './fused-plan.ts';
import {
  delinearize,
  extentOf,
  KernelContext,
  fusedNames,
  letFresh,
  linearOf,
  storeOutput,
  type TensorEnv,
} from './fused-scope.ts';
import { bin, Block, i32, lowerExpr, ref, uniform } from './lower-expr.ts';
import { finalBindings, storeFinals } from './lower-fused-finals.ts';
import { WORKGROUP_SIZE, type KExpr, type KernelPlan, type KStmt } from './plan.ts';
import { closeHelpers } from './prelude.ts';

const f32 = (value: number): KExpr => ({ kind: 'f32', value });
const TRUE: KExpr = { kind: 'bool', value: true };

export function lowerMergeKernel(
  env: TensorEnv,
  fs: FusedStatic,
  name: string,
  statement: number,
): KernelPlan {
  const g = fs.group;
  const scope = new KernelContext(env, fs.output);
  const b = new Block(scope);
  const names = fusedNames(fs.output);
  const features = fs.features;
  const featureCount = features.reduce<KExpr>((a, i) => bin('*', a, extentOf(i)), i32(1));
  const rowCount = fs.rows.reduce<KExpr>((a, i) => bin('*', a, extentOf(i)), i32(1));
  const lin = letFresh(b, 'lin', { kind: 'invocation' });
  b.push({
    kind: 'if',
    cond: bin('>=', lin, bin('*', rowCount, featureCount)),
    then: [{ kind: 'return' }],
    else: [],
  });
  const row = letFresh(b, 'mr', bin('/', lin, featureCount));
  const fl = letFresh(b, 'mf', bin('%', lin, featureCount));
  delinearize(b, fs.rows, row, 'mi');
  delinearize(b, features, fl, 'mi');
  const rowLin = letFresh(b, 'rl', linearOf(b, fs.rows));
  const splits = uniform(names.splits);
  const accBuf = scope.useBuffer(names.acc);
  const accAt = (s: KExpr): KExpr => ({
    kind: 'load',
    buffer: accBuf,
    index: bin('+', bin('*', bin('+', bin('*', s, rowCount), rowLin), featureCount), fl),
  });

  const total = scope.fresh('tl');
  const acc = scope.fresh('ta');
  b.push({ kind: 'var', name: acc, type: 'f32', init: f32(0) });
  if (g.softmax) {
    const mlBuf = scope.useBuffer(names.ml);
    const ml = (s: KExpr, k: number): KExpr => ({
      kind: 'load',
      buffer: mlBuf,
      index: bin('+', bin('*', bin('+', bin('*', s, rowCount), rowLin), i32(3)), i32(k)),
    });
    const top = scope.fresh('tm');
    const seen = scope.fresh('ts');
    b.push({ kind: 'var', name: top, type: 'f32', init: f32(0) });
    b.push({ kind: 'var', name: seen, type: 'bool', init: { kind: 'bool', value: false } });
    b.push({ kind: 'var', name: total, type: 'f32', init: f32(0) });
    const first = b.child();
    const m = letFresh(first, 'sm', ml(ref('sx'), 0));
    first.push({
      kind: 'if',
      cond: bin('>', ml(ref('sx'), 2), f32(0)),
      then: [
        {
          kind: 'assign',
          name: top,
          value: {
            kind: 'select',
            cond: ref(seen),
            ifTrue: first.call('attn_max', ref(top), m),
            ifFalse: m,
          },
        },
        { kind: 'assign', name: seen, value: TRUE },
      ],
      else: [],
    });
    b.push(loop(first.stmts, splits));
    const second = b.child();
    const ms = letFresh(second, 'sm', ml(ref('sx'), 0));
    const finite = bin('>', ref(top), second.call('attn_neg_inf'));
    const scale = letFresh(second, 'sc', {
      kind: 'select',
      cond: finite,
      ifTrue: { kind: 'call', fn: 'exp', args: [bin('-', ms, ref(top))] },
      ifFalse: f32(1),
    });
    second.push({
      kind: 'if',
      cond: bin('>', ml(ref('sx'), 2), f32(0)),
      then: [
        {
          kind: 'assign',
          name: total,
          value: bin('+', ref(total), bin('*', ml(ref('sx'), 1), scale)),
        },
        { kind: 'assign', name: acc, value: bin('+', ref(acc), bin('*', accAt(ref('sx')), scale)) },
      ],
      else: [],
    });
    b.push(loop(second.stmts, splits));
    const t = letFresh(b, 'tt', ref(total));
    // The group's finals (a log-sum-exp), once per row: by the invocation of its first feature.
    if (g.finals.length > 0) {
      const fin = b.child();
      const finalMax: KExpr = {
        kind: 'select',
        cond: ref(seen),
        ifTrue: ref(top),
        ifFalse: fin.call('attn_neg_inf'),
      };
      storeFinals(scope, fin, fs, finalMax, t);
      b.push({ kind: 'if', cond: bin('==', fl, i32(0)), then: fin.stmts, else: [] });
    }
    scope.redirects.set(g.softmax.rsum.target, () => ({ value: t, ok: null }));
  } else {
    const sum = b.child();
    sum.push({ kind: 'assign', name: acc, value: bin('+', ref(acc), accAt(ref('sx'))) });
    b.push(loop(sum.stmts, splits));
  }
  const a = letFresh(b, 'tv', ref(acc));
  scope.redirects.set(g.racc.target, () => ({ value: a, ok: null }));
  storeOutput(b, lowerExpr(g.output.body, b), fs.output, g.output.indices);

  const points = [...fs.rows, ...features]
    .map((i) => A.symbol(extentName(i)))
    .reduce(A.mul, A.constant(1));
  const bindings = scope.bindings(finalBindings(env, fs));
  return {
    name,
    entryPoint: 'main',
    statement,
    target: fs.output,
    workgroupSize: WORKGROUP_SIZE,
    dispatch: { kind: 'grid', invocations: points },
    bindings,
    f16: false,
    helpers: closeHelpers(scope.helpers),
    summary: `merge the split-KV partials of \`${fs.output}\``,
    body: b.stmts,
    fused: { output: fs.output, role: 'merge' },
  };
}

function loop(body: readonly KStmt[], splits: KExpr): KStmt {
  return { kind: 'for', index: 'sx', from: i32(0), to: splits, step: 1, body };
}
