/**
 * Names of one attention block: what every identifier refers to. Built in one pass over the
 * block before anything is converted, so later phases can resolve names in any order.
 *
 * One namespace holds inputs, params, consts and computed tensors (duplicates are E103, a tensor
 * defined twice is E108). Indices are the names used as subscripts; the extent of index `m` is
 * the symbol `M`, which a `const M = ...` may fix.
 */
import type * as ast from '../../grammar/ast.ts';
import type { DiagnosticBag } from '../diagnostics/diagnostic.ts';
import type { Span } from '../diagnostics/source.ts';
import type { Affine, DType, ParamType } from '../ir.ts';
import { extentName } from '../ir.ts';

export const DTYPES: readonly DType[] = ['f32', 'f16', 'i32', 'bool'];
export const PARAM_TYPES: readonly ParamType[] = ['f32', 'i32', 'bool'];
/** Names with a built-in meaning in value expressions. */
export const BUILTIN_CONSTANTS: ReadonlyMap<string, number> = new Map([
  ['inf', Infinity],
  ['pi', Math.PI],
]);

/** A tensor as the checker sees it: enough to type a read and check its subscripts. */
export interface TensorInfo {
  readonly name: string;
  readonly kind: 'input' | 'computed';
  readonly dtype: DType;
  /** The index that names each dimension (declared, or the left-hand side's). */
  readonly dims: readonly string[];
  /** Where each dimension's index is written, for notes that explain an extent. */
  readonly dimSpans: readonly Span[];
  /** For a recurrence target: the step axis, whose extent is one more than its index's. */
  readonly stepAxis: number | null;
  readonly span: Span;
}

/** A statement after grouping: an equation, or a recurrence with its `init`. */
export type Definition =
  | { readonly kind: 'equation'; readonly target: string; readonly stmt: ast.EquationStmt }
  | {
      readonly kind: 'recurrence';
      readonly target: string;
      readonly stmt: ast.EquationStmt;
      readonly axis: number;
      readonly init: ast.InitStmt | null;
    };

export interface BlockScope {
  readonly bag: DiagnosticBag;
  readonly block: ast.Attention;
  readonly inputs: Map<string, ast.InputDecl>;
  readonly params: Map<string, { readonly decl: ast.ParamDecl; readonly type: ParamType }>;
  readonly consts: Map<string, ast.ConstDecl>;
  /** Types of consts, filled as they are checked. */
  readonly constTypes: Map<string, 'i32' | 'bool'>;
  /** Values of integer consts, filled as they are checked (used to compare extents). */
  readonly constValues: Map<string, Affine>;
  readonly tensors: Map<string, TensorInfo>;
  readonly definitions: Definition[];
  readonly inits: ast.InitStmt[];
  /** Every index of the block, with the span of its first occurrence. */
  readonly indices: Map<string, Span>;
  /** Upper-cased index names (extent symbols) → the index. */
  readonly extents: Map<string, string>;
  /**
   * Inputs, params and tensors whose declaration or definition is broken and already reported.
   * Uses of them convert to nothing without a further diagnostic, so one mistake gives one
   * error rather than one per use (an input of unknown type would otherwise be "a number used
   * as a condition" wherever it is read).
   */
  readonly failed: Set<string>;
}

export function isIndexName(name: string): boolean {
  return /^[a-z]/.test(name);
}

/** Collects the names of a block and reports duplicates. */
export function buildScope(block: ast.Attention, bag: DiagnosticBag): BlockScope {
  const scope: BlockScope = {
    bag,
    block,
    inputs: new Map(),
    params: new Map(),
    consts: new Map(),
    constTypes: new Map(),
    constValues: new Map(),
    tensors: new Map(),
    definitions: [],
    inits: [],
    indices: new Map(),
    extents: new Map(),
    failed: new Set(),
  };
  const declared = new Map<string, Span>();
  const declare = (id: ast.Identifier): boolean => {
    const prev = declared.get(id.text);
    if (prev) {
      bag.report('E103', id.span, [id.text], {
        related: [bag.related(prev, `\`${id.text}\` is first declared here`)],
      });
      return false;
    }
    declared.set(id.text, id.span);
    return true;
  };

  for (const item of block.items) {
    switch (item.kind) {
      case 'input':
        if (!declare(item.name)) break;
        scope.inputs.set(item.name.text, item);
        for (const idx of item.indices) noteIndex(scope, idx, true);
        scope.tensors.set(item.name.text, {
          name: item.name.text,
          kind: 'input',
          dtype: inputDType(item, scope),
          dims: item.indices.map((i) => i.text),
          dimSpans: item.indices.map((i) => i.span),
          stepAxis: null,
          span: item.name.span,
        });
        break;
      case 'param':
        if (declare(item.name))
          scope.params.set(item.name.text, { decl: item, type: paramType(item, scope) });
        break;
      case 'const':
        if (declare(item.name)) scope.consts.set(item.name.text, item);
        break;
      case 'init':
        scope.inits.push(item);
        break;
      case 'equation':
        collectEquation(scope, item, declared);
        break;
      case 'output':
      case 'error':
        break;
    }
  }
  for (const item of block.items) collectSubscriptIndices(scope, item);
  for (const name of scope.indices.keys()) scope.extents.set(extentName(name), name);
  for (const [name, { decl }] of scope.params) {
    if (scope.extents.has(name))
      bag.report('E103', decl.name.span, [name], {
        hint: `\`${name}\` is the extent of index \`${scope.extents.get(name)}\`; rename the param`,
      });
  }
  return scope;
}

/** Type names from other languages, for a "did you mean" on E106. */
const TYPE_SYNONYMS: ReadonlyMap<string, DType> = new Map([
  ['boolean', 'bool'],
  ['float', 'f32'],
  ['float32', 'f32'],
  ['fp32', 'f32'],
  ['half', 'f16'],
  ['float16', 'f16'],
  ['fp16', 'f16'],
  ['int', 'i32'],
  ['int32', 'i32'],
]);

function reportUnknownType(id: ast.Identifier, allowed: readonly string[], scope: BlockScope) {
  const meant = TYPE_SYNONYMS.get(id.text.toLowerCase());
  const hint =
    meant && allowed.includes(meant) ? { hint: `did you mean \`${meant}\`?` } : undefined;
  scope.bag.report('E106', id.span, [id.text, allowed.join(', ')], hint);
}

function inputDType(item: ast.InputDecl, scope: BlockScope): DType {
  if (!item.dtype) return 'f32';
  if ((DTYPES as readonly string[]).includes(item.dtype.text)) return item.dtype.text as DType;
  reportUnknownType(item.dtype, DTYPES, scope);
  scope.failed.add(item.name.text);
  return 'f32';
}

function paramType(item: ast.ParamDecl, scope: BlockScope): ParamType {
  if (!item.type) return 'f32';
  const t = item.type.text;
  if ((PARAM_TYPES as readonly string[]).includes(t)) return t as ParamType;
  if ((DTYPES as readonly string[]).includes(t))
    scope.bag.report('E307', item.type.span, [t, 'a param', PARAM_TYPES.join(', ')]);
  else reportUnknownType(item.type, PARAM_TYPES, scope);
  scope.failed.add(item.name.text);
  return 'f32';
}

/** Records an equation: a plain definition, or the update of a recurrence (`T[i + 1, ...]`). */
function collectEquation(
  scope: BlockScope,
  stmt: ast.EquationStmt,
  declared: Map<string, Span>,
): void {
  const { bag } = scope;
  const name = stmt.target.text;
  const steps = stmt.subscripts
    .map((s, axis) => ({ s, axis }))
    .filter(({ s }) => isStepSubscript(s));
  // A step subscript makes the equation a recurrence (other non-plain subscripts are E207 later).
  const axis = steps.length > 0 ? steps[0].axis : null;
  if (scope.inputs.has(name)) {
    bag.report('E107', stmt.target.span, [name]);
    return;
  }
  const prev = scope.definitions.find((d) => d.target === name);
  if (prev) {
    // A piecewise definition: every piece an equation with a filter, on the same indices.
    const same = (a: ast.EquationStmt) =>
      a.subscripts.map((x) => (x.kind === 'name' ? x.name.text : '?')).join();
    const pieces = scope.definitions.filter((d) => d.target === name);
    const piecewise =
      axis === null &&
      stmt.filter !== null &&
      pieces.every(
        (d) => d.kind === 'equation' && d.stmt.filter !== null && same(d.stmt) === same(stmt),
      );
    if (piecewise) {
      scope.definitions.push({ kind: 'equation', target: name, stmt });
      return;
    }
    bag.report('E108', stmt.target.span, [name], {
      related: [bag.related(prev.stmt.target.span, `\`${name}\` is first defined here`)],
    });
    return;
  }
  if (declared.has(name)) {
    bag.report('E103', stmt.target.span, [name], {
      related: [bag.related(declared.get(name)!, `\`${name}\` is first declared here`)],
    });
    return;
  }
  declared.set(name, stmt.target.span);
  // Recorded as a recurrence all the same, so its `init` and its readers raise nothing more.
  for (const extra of steps.slice(1)) bag.report('E406', extra.s.span);
  // A macro call that failed to expand (already reported) still defines its target.
  if (steps.length > 1 || stmt.value.kind === 'error') scope.failed.add(name);
  const dims = stmt.subscripts.map((s) =>
    s.kind === 'name' ? s.name.text : (stepIndexOf(s) ?? '?'),
  );
  for (const s of stmt.subscripts) {
    if (s.kind === 'name') noteIndex(scope, s.name, false);
    else {
      const step = identOfStep(s);
      if (step) noteIndex(scope, step, false);
    }
  }
  scope.tensors.set(name, {
    name,
    kind: 'computed',
    dtype: 'f32',
    dims,
    dimSpans: stmt.subscripts.map((s) => s.span),
    stepAxis: axis,
    span: stmt.target.span,
  });
  scope.definitions.push(
    axis === null
      ? { kind: 'equation', target: name, stmt }
      : { kind: 'recurrence', target: name, stmt, axis, init: null },
  );
}

/** `i + 1` on the left of a recurrence. */
export function isStepSubscript(e: ast.Expr): boolean {
  return identOfStep(e) !== null;
}

function identOfStep(e: ast.Expr): ast.Identifier | null {
  if (e.kind !== 'binary' || e.op !== '+') return null;
  if (
    e.left.kind === 'name' &&
    e.right.kind === 'number' &&
    e.right.value === 1 &&
    e.right.isInteger
  )
    return e.left.name;
  return null;
}

function stepIndexOf(e: ast.Expr): string | null {
  return identOfStep(e)?.text ?? null;
}

function noteIndex(scope: BlockScope, id: ast.Identifier, isDeclaration: boolean): void {
  if (!isIndexName(id.text)) {
    if (isDeclaration) scope.bag.report('E111', id.span, [id.text]);
    return;
  }
  if (!scope.indices.has(id.text)) scope.indices.set(id.text, id.span);
}

/**
 * Every lower-case bare name inside a subscript, on either side, or in a reducer's list is an
 * index (unless it names a param or const): a first pass so that bare uses elsewhere resolve.
 */
function collectSubscriptIndices(scope: BlockScope, item: ast.Item): void {
  const visit = (e: ast.Expr, inSubscript: boolean): void => {
    switch (e.kind) {
      case 'name':
        if (inSubscript && !scope.params.has(e.name.text) && !scope.consts.has(e.name.text))
          noteIndex(scope, e.name, false);
        return;
      case 'access':
        e.subscripts.forEach((s) => visit(s, true));
        return;
      case 'call':
        e.args.forEach((a) => visit(a, inSubscript));
        return;
      case 'macro':
        e.indices.forEach((i) => noteIndex(scope, i, true));
        e.args.forEach((a) => visit(a, inSubscript));
        return;
      case 'unary':
        visit(e.operand, inSubscript);
        return;
      case 'binary':
        visit(e.left, inSubscript);
        visit(e.right, inSubscript);
        return;
      case 'reduction':
        e.indices.forEach((i) => noteIndex(scope, i, true));
        visit(e.body, inSubscript);
        return;
      case 'paren':
        visit(e.inner, inSubscript);
        return;
      case 'number':
      case 'bool':
      case 'error':
        return;
    }
  };
  if (item.kind === 'equation' || item.kind === 'init') {
    item.subscripts.forEach((s) => visit(s, true));
    visit(item.value, false);
    if (item.kind === 'equation' && item.filter) visit(item.filter, false);
  }
}
