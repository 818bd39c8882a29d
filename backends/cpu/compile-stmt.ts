/**
 * One statement → one generated JavaScript function: a loop nest over the statement's
 * iteration space (left-hand indices outside, reduced indices inside, each in the order
 * written) whose innermost body is emitted by `compile-expr.ts`.
 *
 * The code is generated when the statement is about to run, so every extent, stride, symbol and
 * param is a literal in it, and reads of tensors already known to be fully present skip their
 * presence checks. See `absent.ts` for the rules the loops implement.
 */
import { InternalError } from '../../compiler/diagnostics/diagnostic.ts';
import type { Equation, IndexName, Recurrence, Statement, TensorName } from '../../compiler/ir.ts';
import { applyArithmetic, applyCompare, applyFunction } from '../../compiler/scalar.ts';
import { PRESENT, REDUCERS } from './absent.ts';
import {
  CodeWriter,
  num,
  type ElementKind,
  type LoopVar,
  type Scope,
  type TensorLayout,
} from './codegen.ts';
import { emitExpr, typeOf, type Code } from './compile-expr.ts';

/** What the interpreter knows before a statement runs. */
export interface StatementScope extends Omit<Scope, 'loop'> {
  /** The extent of an index; throws InternalError for an undeclared index. */
  extentOf(index: IndexName): number;
}

export interface StatementKernel {
  /** The generated function body, kept for debugging. */
  readonly source: string;
  run(values: readonly Float64Array[], present: readonly Uint8Array[]): void;
}

/**
 * The element kind a statement writes: booleans only from an unreduced boolean body. A
 * recurrence's type is its init's, which cannot read the target being defined.
 */
export function targetKind(s: Statement, scope: StatementScope): ElementKind {
  if (s.reduce?.op === 'topk') return 'int';
  if (s.reduce) return 'real';
  const e = s.kind === 'recurrence' ? s.init : s.body;
  return typeOf(e, { ...scope, loop: () => undefined }) === 'bool' ? 'bool' : 'real';
}

/** Generates the loop nest of `s`, which writes into `target`. */
export function compileStatement(
  s: Statement,
  target: TensorLayout,
  base: StatementScope,
): StatementKernel {
  checkTarget(s, target, base);
  const w = new CodeWriter();
  w.tensors.add(target.id);
  const loops = new Map<IndexName, LoopVar>();
  const scope: Scope = {
    binding: base.binding,
    loop: (name) => loops.get(name),
    tensor: (name: TensorName) => {
      if (name !== s.target) return base.tensor(name);
      if (s.kind === 'recurrence') return target;
      throw new InternalError(`equation for ${s.target} reads its own target`);
    },
  };
  const bind = (index: IndexName) => {
    const variable = `i${loops.size}`;
    const extent = base.extentOf(index);
    loops.set(index, { variable, extent });
    w.open(`for (let ${variable} = 0; ${variable} < ${extent}; ${variable}++)`);
  };
  if (s.kind === 'equation') emitEquation(s, target, scope, w, bind);
  else emitRecurrence(s, target, scope, w, bind, loops);
  const prologue = [...w.tensors].map((id) => `  const v${id} = V[${id}], p${id} = P[${id}];`);
  // Strict mode turns a slip in the generator (an undeclared variable) into an error.
  const source = ["  'use strict';", ...prologue, w.text()].join('\n');
  const combine = s.reduce ? REDUCERS[s.reduce.op].combine : REDUCERS.sum.combine;
  const fn = new Function('V', 'P', 'FN', 'AR', 'CMP', 'COMB', source) as (
    values: readonly Float64Array[],
    present: readonly Uint8Array[],
    fn: typeof applyFunction,
    ar: typeof applyArithmetic,
    cmp: typeof applyCompare,
    comb: typeof combine,
  ) => void;
  return {
    source,
    run: (values, present) =>
      fn(values, present, applyFunction, applyArithmetic, applyCompare, combine),
  };
}

type Bind = (index: IndexName) => void;

function emitEquation(
  s: Equation,
  target: TensorLayout,
  scope: Scope,
  w: CodeWriter,
  bind: Bind,
): void {
  if (s.reduce?.op === 'topk') return emitTopk(s, target, scope, w, bind);
  const lhs = unique(s.indices);
  lhs.forEach(bind);
  const offset = w.let(writeOffset(s, target, scope, null));
  emitPoint(s, target, offset, scope, w, bind);
  lhs.forEach(() => w.close());
}

/**
 * `topk[m, j]`: per point of the other left-hand indices, collect the present (value, m) pairs
 * that pass the filter, sort them (largest value first, smaller m first on ties) and write the
 * first J keys at ranks 0..J-1; ranks past the count stay absent.
 */
function emitTopk(
  s: Equation,
  target: TensorLayout,
  scope: Scope,
  w: CodeWriter,
  bind: Bind,
): void {
  const [key] = s.reduce!.over;
  const rank = s.reduce!.rank!;
  const others = unique(s.indices.filter((i) => i !== rank));
  others.forEach(bind);
  w.line('const cand = [];');
  bind(key);
  const m = scope.loop(key)!.variable;
  emitFilteredBody(s, scope, w, (value) => {
    if (value.type !== 'real') throw new InternalError(`topk of a boolean in ${s.target}`);
    w.line(`cand.push([${value.text}, ${m}]);`);
  });
  w.close();
  w.line('cand.sort((a, b) => b[0] - a[0] || a[1] - b[1]);');
  bind(rank);
  const j = scope.loop(rank)!.variable;
  const offset = w.let(writeOffset(s, target, scope, null));
  w.open(`if (${j} < cand.length)`);
  store(target, offset, { text: `cand[${j}][1]`, type: 'real' }, w);
  w.close();
  w.close();
  others.forEach(() => w.close());
}

/** `init` at step 0, then steps 0..S-1 in order, each writing step s + 1 (ir.ts, Recurrences). */
function emitRecurrence(
  s: Recurrence,
  target: TensorLayout,
  scope: Scope,
  w: CodeWriter,
  bind: Bind,
  loops: Map<IndexName, LoopVar>,
): void {
  const step = s.indices[s.axis];
  const others = unique(s.indices.filter((_, axis) => axis !== s.axis));
  if (others.includes(step)) {
    throw new InternalError(`recurrence step index ${step} appears twice in ${s.target}`);
  }
  const stride = target.strides[s.axis];

  others.forEach(bind);
  const initOffset = w.let(writeOffset(s, target, scope, 'zero'));
  w.open('pt:');
  store(target, initOffset, emitExpr(s.init, scope, w, 'pt'), w);
  w.close();
  for (const index of others) {
    loops.delete(index);
    w.close();
  }

  bind(step);
  others.forEach(bind);
  const from = w.let(writeOffset(s, target, scope, 'step'));
  const to = w.let(`${from} + ${stride}`);
  // Filter false or body absent: the step carries the previous value and presence over.
  const carry = () => {
    w.line(`v${target.id}[${to}] = v${target.id}[${from}];`);
    w.line(`p${target.id}[${to}] = p${target.id}[${from}];`);
  };
  if (s.reduce) emitPoint(s, target, to, scope, w, bind, carry);
  else {
    w.open('done:');
    emitFilteredBody(s, scope, w, (value) => {
      store(target, to, value, w);
      w.line('break done;');
    });
    carry();
    w.close();
  }
  for (let i = 0; i <= others.length; i++) w.close();
}

/**
 * The value at one left-hand point: the body itself, or its reduction over the inner loops.
 * A reduction whose filter rejected every reduced point leaves the point absent (`onEmpty`
 * runs instead of the store); one whose filtered-in body values were all absent is the identity.
 */
function emitPoint(
  s: Statement,
  target: TensorLayout,
  offset: string,
  scope: Scope,
  w: CodeWriter,
  bind: Bind,
  onEmpty: () => void = () => {},
): void {
  if (!s.reduce) {
    emitFilteredBody(s, scope, w, (value) => store(target, offset, value, w));
    return;
  }
  const { op, over } = s.reduce;
  if (new Set(over).size !== over.length || over.some((i) => s.indices.includes(i))) {
    throw new InternalError(`bad reduced indices [${over.join(', ')}] in ${s.target}`);
  }
  w.line(`let acc = ${num(REDUCERS[op].identity)};`);
  if (s.filter) w.line('let seen = false;');
  over.forEach(bind);
  emitFilteredBody(
    s,
    scope,
    w,
    (value) => {
      if (value.type !== 'real') throw new InternalError(`${op} of a boolean in ${s.target}`);
      w.line(`acc = COMB(acc, ${value.text});`);
    },
    () => w.line('seen = true;'),
  );
  over.forEach(() => w.close());
  if (s.filter) {
    w.open('if (seen)');
    store(target, offset, { text: 'acc', type: 'real' }, w);
    w.close();
    w.open('else');
    onEmpty();
    w.close();
  } else store(target, offset, { text: 'acc', type: 'real' }, w);
}

/**
 * `pt: { if (!filter) skip; passed(); use(body) }`: an absent filter or body skips the point.
 * `passed` runs only when there is a filter.
 */
function emitFilteredBody(
  s: Statement,
  scope: Scope,
  w: CodeWriter,
  use: (value: Code) => void,
  passed: () => void = () => {},
): void {
  w.open('pt:');
  if (s.filter) {
    const f = emitExpr(s.filter, scope, w, 'pt');
    if (f.type !== 'bool') throw new InternalError(`filter of ${s.target} is not boolean`);
    w.line(`if (!${f.text}) break pt;`);
    passed();
  }
  use(emitExpr(s.body, scope, w, 'pt'));
  w.close();
}

function store(target: TensorLayout, offset: string, value: Code, w: CodeWriter): void {
  if (value.type !== (target.kind === 'bool' ? 'bool' : 'real')) {
    throw new InternalError(`a ${value.type} value stored into ${target.kind} tensor`);
  }
  w.line(
    `v${target.id}[${offset}] = ${value.type === 'bool' ? `${value.text} ? 1 : 0` : value.text};`,
  );
  w.line(`p${target.id}[${offset}] = ${PRESENT};`);
}

/**
 * Row-major offset of the left-hand point. For a recurrence, the step axis is at 0 (`zero`,
 * the init) or at the current step `s` (`step`); the caller adds one stride for `s + 1`.
 */
function writeOffset(
  s: Statement,
  target: TensorLayout,
  scope: Scope,
  stepAxis: 'zero' | 'step' | null,
): string {
  const parts: string[] = [];
  s.indices.forEach((index, axis) => {
    if (s.kind === 'recurrence' && axis === s.axis && stepAxis === 'zero') return;
    const loop = scope.loop(index);
    if (!loop) throw new InternalError(`index ${index} of ${s.target} has no loop`);
    parts.push(`${loop.variable} * ${target.strides[axis]}`);
  });
  return parts.length > 0 ? parts.join(' + ') : '0';
}

function checkTarget(s: Statement, target: TensorLayout, scope: StatementScope): void {
  if (s.indices.length !== target.shape.length) {
    throw new InternalError(
      `${s.target} has rank ${target.shape.length} but is defined with ${s.indices.length} indices`,
    );
  }
  s.indices.forEach((index, axis) => {
    const extra = s.kind === 'recurrence' && axis === s.axis ? 1 : 0;
    if (scope.extentOf(index) + extra !== target.shape[axis]) {
      throw new InternalError(
        `dimension ${axis} of ${s.target} does not match the extent of ${index}`,
      );
    }
  });
  if (s.kind === 'recurrence' && (s.axis < 0 || s.axis >= s.indices.length)) {
    throw new InternalError(`bad step axis of ${s.target}`);
  }
}

function unique(indices: readonly IndexName[]): IndexName[] {
  return [...new Set(indices)];
}
