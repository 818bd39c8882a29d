/**
 * Static facts the lowering needs before it builds any kernel: where each tensor may hold
 * absent elements (and so which storage it gets), and which reads can never fall outside their
 * tensor. `lower-expr.ts` uses the same predicates, so an expression this file calls "always
 * present" is lowered without a presence flag, and vice versa.
 */
import * as affine from '../../compiler/affine.ts';
import { InternalError } from '../../compiler/diagnostics/diagnostic.ts';
import {
  extentName,
  type Affine,
  type Expr,
  type Program,
  type TensorName,
} from '../../compiler/ir.ts';
import { affinesOf, forEachExpr } from '../../compiler/ir-walk.ts';
import type { Storage } from './plan.ts';

/**
 * Whether subscript `sub` lies in `[0, dim)` for every value of the indices in scope. An index
 * `i` ranges over `[0, I)`, and every dimension is an extent, possibly plus a constant (the
 * step axis of a recurrence), so only these cases are recognised.
 */
export function staticallyInBounds(sub: Affine, dim: Affine): boolean {
  const index = affine.asIndex(sub);
  if (index !== null) {
    const slack = affine.sub(dim, affine.symbol(extentName(index)));
    return affine.isConstant(slack) && slack.constant >= 0;
  }
  if (!affine.isConstant(sub) || sub.constant < 0) return false;
  if (affine.isConstant(dim)) return sub.constant < dim.constant;
  // dim = X + c with X an extent (>= 1): k < 1 + c suffices.
  const [term] = dim.terms;
  const oneSymbol = dim.terms.length === 1 && term.coeff === 1 && term.atom.kind === 'symbol';
  return oneSymbol && sub.constant < 1 + dim.constant;
}

/** Whether a division atom's divisor is a positive literal (else it is checked at run time). */
export function positiveLiteral(den: Affine): boolean {
  return affine.isConstant(den) && den.constant > 0;
}

export interface PresenceFacts {
  readonly shapes: ReadonlyMap<TensorName, readonly Affine[]>;
  /** Tensors that may hold absent elements. */
  readonly absent: ReadonlySet<TensorName>;
}

/** Whether evaluating `a` may meet an absent value (an out-of-bounds read, a zero divisor). */
export function affineMayBeAbsent(a: Affine, facts: PresenceFacts): boolean {
  for (const atom of affine.atomsOf(a)) {
    if ((atom.kind === 'floordiv' || atom.kind === 'mod') && !positiveLiteral(atom.den))
      return true;
    if (atom.kind === 'read' && readMayBeAbsent(atom.tensor, atom.at, facts)) return true;
  }
  return false;
}

function readMayBeAbsent(tensor: TensorName, at: readonly Affine[], facts: PresenceFacts): boolean {
  const shape = facts.shapes.get(tensor);
  if (!shape) throw new InternalError(`unknown tensor ${tensor}`);
  return facts.absent.has(tensor) || at.some((sub, axis) => !staticallyInBounds(sub, shape[axis]));
}

/** Whether `e` may evaluate to absent (ir.ts: "Absent values"). */
export function exprMayBeAbsent(e: Expr, facts: PresenceFacts): boolean {
  let absent = false;
  forEachExpr(e, (x) => {
    if (x.kind === 'read' && readMayBeAbsent(x.tensor, x.at, facts)) absent = true;
  });
  return absent || affinesOf(e).some((a) => affineMayBeAbsent(a, facts));
}

/** Whether `e` is a boolean (ir.ts: the node kind decides, reads and params by their type). */
export function isBoolExpr(
  e: Expr,
  program: Program,
  boolTensors: ReadonlySet<TensorName>,
): boolean {
  switch (e.kind) {
    case 'bool':
    case 'not':
    case 'compare':
    case 'icompare':
    case 'logical':
    case 'const':
      return true;
    case 'param':
      return program.params.some((p) => p.name === e.name && p.type === 'bool');
    case 'read':
      return boolTensors.has(e.tensor);
    case 'select':
      return isBoolExpr(e.then, program, boolTensors);
    default:
      return false;
  }
}

export interface TensorFacts {
  readonly storages: ReadonlyMap<TensorName, Storage>;
  /** Tensors whose elements are booleans (bool inputs, and unreduced boolean equations). */
  readonly boolTensors: ReadonlySet<TensorName>;
}

/**
 * The storage of every tensor of the program. Intermediates hold f32 values (booleans as 0 or
 * 1); they are `f32-absent` where some element may be absent:
 *  - an unreduced equation with a filter or a body that may be absent;
 *  - a reduction with a filter, since a point whose filter rejects every reduced point is
 *    absent (the refinement `backends/cpu/absent.ts` rule 5 documents);
 *  - a `topk` selection, whose ranks past the number of present values are absent;
 *  - a recurrence whose init may be absent: every later step carries a present value forward
 *    once one exists, so only step 0 can leave a position absent for good.
 */
export function planTensors(
  program: Program,
  shapes: ReadonlyMap<TensorName, readonly Affine[]>,
  f16: boolean,
): TensorFacts {
  const storages = new Map<TensorName, Storage>();
  const boolTensors = new Set<TensorName>();
  for (const input of program.inputs) {
    const storage: Storage =
      input.dtype === 'f16'
        ? f16
          ? 'f16'
          : 'f32'
        : input.dtype === 'bool'
          ? 'bool8'
          : input.dtype;
    storages.set(input.name, storage);
    if (input.dtype === 'bool') boolTensors.add(input.name);
  }
  const absent = new Set<TensorName>();
  const facts: PresenceFacts = { shapes, absent };
  for (const s of program.body) {
    const value = s.kind === 'recurrence' ? s.init : s.body;
    if (s.reduce === null && isBoolExpr(value, program, boolTensors)) boolTensors.add(s.target);
    const mayBeAbsent =
      s.kind === 'recurrence'
        ? exprMayBeAbsent(s.init, facts)
        : s.filter !== null ||
          s.reduce?.op === 'topk' || // ranks past the number of present values
          (s.reduce === null && exprMayBeAbsent(s.body, facts));
    if (mayBeAbsent) absent.add(s.target);
  }
  for (const s of program.body) storages.set(s.target, absent.has(s.target) ? 'f32-absent' : 'f32');
  return { storages, boolTensors };
}
