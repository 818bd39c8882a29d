/**
 * recompute: a statement outside an attention that reads the attention's logits would keep them
 * stored (L × S elements) and the attention unfused. H2O's accumulated attention is one:
 *
 *   ACC[b, h, m] = sum[p] exp(S[b, h, p, m] - LSE[b, h, p])
 *
 * needs every row's normaliser `LSE` before any column can be summed, so it is a second pass
 * over the keys (FuseMax's pass-count bound), and it cannot share the first pass's logits
 * without storing them. This pass gives such a reader its own copy of the logits' definition,
 * transposed so that the reader's own indices come first and the index it sums over last, and
 * splits it into weights and a sum over them, the form `tile` and `fuse` know:
 *
 *   ACC_S[b, h, m, p] = sum[e] scale * Q[b, h, p, e] * K[b, h, m, e]   where F
 *   ACC_W[b, h, m, p] = exp(ACC_S[b, h, m, p] - LSE[b, h, p])
 *   ACC[b, h, m]      = sum[p] ACC_W[b, h, m, p] * 1
 *
 * `ACC` is then an attention of its own, with rows `m` and key `p` (and `1` for values): the
 * logits are computed twice, once per pass, instead of stored once.
 *
 * Precondition: an attention (attention-match.ts) whose key is not partitioned, and a statement
 * outside it that reads one of its logits (a tensor computed per (row, key) that the weights
 * need, not one of the softmax's) and is `R[..] = sum[k] body` without a filter. The logits are
 * defined by one equation that reads no other logits, and R reads them at distinct plain
 * indices that do not clash with the indices they sum over.
 */
import * as A from '../affine.ts';
import type { Affine, Equation, Expr, IndexName, Program, Statement, TensorName } from '../ir.ts';
import { arith, literal, readAt } from '../ir-make.ts';
import { forEachExpr, mapExpr, statementReads, substituteInExpr } from '../ir-walk.ts';
import { irKey } from '../ir-equal.ts';
import { findAttentions, type AttentionMatch } from './attention-match.ts';
import { freshName, namesOf, no, yes, type Pass } from './pass.ts';

type Read = Extract<Expr, { kind: 'read' }>;

interface Rewrite {
  readonly reader: Equation;
  readonly logits: Equation;
  readonly read: Read;
}

/** The attention's own statements and its logits (per (row, key) tensors its weights need). */
function attentionTensors(program: Program, m: AttentionMatch) {
  const own = new Set<TensorName>([m.output.target, m.weights.target]);
  if (m.softmax) for (const s of [m.softmax.max, m.softmax.exp, m.softmax.sum]) own.add(s.target);
  const perKey = [...m.rows, ...m.key];
  const logits = new Set<TensorName>();
  const seen = new Set<TensorName>();
  const visit = (t: TensorName) => {
    if (seen.has(t)) return;
    seen.add(t);
    const pieces = program.body.filter((s) => s.target === t);
    if (pieces.length === 0) return;
    if (!own.has(t) && perKey.every((i) => pieces[0].indices.includes(i))) logits.add(t);
    else if (!own.has(t)) return;
    for (const s of pieces) for (const r of statementReads(s)) visit(r);
  };
  visit(m.weights.target);
  return { own, logits };
}

/** Every tensor `target` depends on, itself included. */
function dependencies(program: Program, target: TensorName): Set<TensorName> {
  const out = new Set<TensorName>();
  const visit = (t: TensorName) => {
    if (out.has(t)) return;
    out.add(t);
    for (const s of program.body) if (s.target === t) statementReads(s).forEach(visit);
  };
  visit(target);
  return out;
}

/** The rewrite for `reader`, or why there is none. */
function planReader(
  program: Program,
  reader: Statement,
  logits: ReadonlySet<TensorName>,
): Rewrite | string {
  const name = `\`${reader.target}\``;
  const read = [...statementReads(reader)].filter((t) => logits.has(t));
  if (read.length !== 1) return `${name} reads more than one tensor of logits`;
  if (
    reader.kind !== 'equation' ||
    reader.reduce?.op !== 'sum' ||
    reader.reduce.over.length !== 1 ||
    reader.filter
  )
    return `${name} reads the logits \`${read[0]}\` but is not a sum over one index without a filter`;
  const defs = program.body.filter((s) => s.target === read[0]);
  const def = defs[0];
  if (defs.length !== 1 || def.kind !== 'equation')
    return `the logits \`${read[0]}\` are not one equation`;
  if ([...statementReads(def)].some((t) => logits.has(t)))
    return `the logits \`${read[0]}\` read other logits`;
  const reads: Read[] = [];
  forEachExpr(reader.body, (x) => {
    if (x.kind === 'read' && x.tensor === def.target) reads.push(x);
  });
  const first = reads[0];
  if (reads.some((r) => irKey(r) !== irKey(first)))
    return `${name} reads \`${def.target}\` at different points`;
  const space = [...reader.indices, ...reader.reduce.over];
  const at = first.at.map((a) => A.asIndex(a));
  if (at.some((i) => i === null || !space.includes(i)) || new Set(at).size !== at.length)
    return `${name} does not read \`${def.target}\` at distinct plain indices`;
  const clash = def.reduce?.over.find((i) => space.includes(i));
  if (clash) return `\`${def.target}\` sums over \`${clash}\`, an index of ${name}`;
  return { reader, logits: def, read: first };
}

function plans(program: Program): { rewrites: Rewrite[]; reasons: string[] } {
  const rewrites: Rewrite[] = [];
  const reasons: string[] = [];
  const matches = findAttentions(program).matches.filter((m) => m.key.length === 1);
  const outputs = new Set(matches.map((m) => m.output.target));
  for (const m of matches) {
    const { own, logits } = attentionTensors(program, m);
    const needed = dependencies(program, m.output.target);
    for (const s of program.body) {
      // Outside: the attention does not depend on it (a softmax's own maximum reads the logits).
      if (own.has(s.target) || needed.has(s.target) || outputs.has(s.target)) continue;
      if (![...statementReads(s)].some((t) => logits.has(t))) continue;
      if (rewrites.some((r) => r.reader === s)) continue;
      const p = planReader(program, s, logits);
      if (typeof p === 'string') reasons.push(p);
      else rewrites.push(p);
    }
  }
  return { rewrites, reasons };
}

function rewriteOne(program: Program, r: Rewrite): Program {
  const taken = namesOf(program);
  const copy = freshName(taken, `${r.reader.target}_${r.logits.target}`) as TensorName;
  taken.add(copy);
  const weights = freshName(taken, `${r.reader.target}_W`) as TensorName;
  const key = r.reader.reduce!.over[0];
  const order = [...r.reader.indices, key];
  const at = r.read.at.map((a) => A.asIndex(a)!);
  // The copy's indices: the reader's own first, its summed index last (the weights' order).
  const copyIndices = order.filter((i) => at.includes(i));
  const rename = new Map<IndexName, Affine>(r.logits.indices.map((i, k) => [i, A.index(at[k])]));
  const logits: Equation = {
    ...r.logits,
    target: copy,
    indices: copyIndices,
    body: substituteInExpr(r.logits.body, rename),
    filter: r.logits.filter ? substituteInExpr(r.logits.filter, rename) : null,
  };
  const body = mapExpr(r.reader.body, (x) =>
    x.kind === 'read' && x.tensor === r.logits.target ? readAt(copy, copyIndices) : x,
  );
  const w: Equation = {
    kind: 'equation',
    target: weights,
    indices: order,
    reduce: null,
    filter: null,
    body,
    origin: r.reader.origin,
  };
  const reader: Equation = { ...r.reader, body: arith('*', readAt(weights, order), literal(1)) };
  return {
    ...program,
    body: program.body.flatMap((s) => (s === r.reader ? [logits, w, reader] : [s])),
  };
}

export const recompute: Pass = {
  name: 'recompute',
  summary: "give a second cascade over an attention's logits its own copy of them (not stored)",
  applies(program) {
    const { rewrites, reasons } = plans(program);
    if (rewrites.length > 0)
      return yes(
        rewrites.map((r) => `\`${r.reader.target}\` recomputes \`${r.logits.target}\``).join(', '),
      );
    return no(reasons[0] ?? 'no statement outside an attention reads its logits');
  },
  run(program) {
    let out = program;
    for (const r of plans(program).rewrites) {
      const again = plans(out).rewrites.find((x) => x.reader.target === r.reader.target);
      if (again) out = rewriteOne(out, again);
    }
    return out;
  },
};
