/**
 * Macros: library sub-cascades written as `NAME[indices](args)` on the right of an equation,
 * expanded here (AST → AST, before checking) into the plain equations they stand for, so the
 * short and the explicit form give identical IR. Generated tensors are named after the target
 * (`A_max`, `A_exp`, `A_sum`) and every generated node carries the span of the macro call.
 *
 *   A[i, m] = softmax[m](X) where F
 * expands to
 *   A_max[i]    = max[m] X                       where F
 *   A_exp[i, m] = exp(X - A_max[i])              where F
 *   A_sum[i]    = sum[m] A_exp[i, m]
 *   A[i, m]     = A_exp[i, m] / A_sum[i]
 */
import type * as ast from '../grammar/ast.ts';
import type { DiagnosticBag } from './diagnostics/diagnostic.ts';
import type { Span } from './diagnostics/source.ts';

/** What an expansion needs besides the call: where to report, and the names already taken. */
interface MacroContext {
  readonly bag: DiagnosticBag;
  /** Every name the block declares or defines, with where (for clashes with generated names). */
  readonly taken: ReadonlyMap<string, Span>;
  /** The block's indices (which bare names in a macro's argument are indices). */
  readonly indices: ReadonlySet<string>;
}

type Expansion = (
  call: ast.MacroCall,
  stmt: ast.EquationStmt,
  ctx: MacroContext,
) => ast.Item[] | null;

const MACROS: Readonly<Record<string, Expansion>> = { softmax: expandSoftmax };

export function expandMacros(module: ast.Module, bag: DiagnosticBag): ast.Module {
  let changed = false;
  const attentions = module.attentions.map((block) => {
    const ctx: MacroContext = { bag, taken: namesOf(block), indices: indicesOf(block) };
    const items = block.items.flatMap((item): ast.Item[] => {
      if (item.kind !== 'equation' || item.value.kind !== 'macro') return [item];
      changed = true;
      const call = item.value;
      const expand = MACROS[call.callee.text];
      if (!expand)
        bag.report('E113', call.callee.span, [call.callee.text, Object.keys(MACROS).join(', ')]);
      // A failed expansion still defines its target (with an error value the checker skips), so
      // the equations and outputs that use it raise nothing more.
      return (
        (expand && expand(call, item, ctx)) ?? [
          { ...item, value: { kind: 'error', span: call.span } },
        ]
      );
    });
    return items === block.items ? block : { ...block, items };
  });
  return changed ? { ...module, attentions } : module;
}

function namesOf(block: ast.Attention): Map<string, Span> {
  const taken = new Map<string, Span>();
  for (const item of block.items) {
    if (item.kind === 'output' || item.kind === 'error' || item.kind === 'schedule') continue;
    const id = item.kind === 'equation' || item.kind === 'init' ? item.target : item.name;
    if (!taken.has(id.text)) taken.set(id.text, id.span);
  }
  return taken;
}

/** Calls `f` for every bare name in `e`, saying whether it sits inside a subscript. */
function forEachName(e: ast.Expr, f: (id: ast.Identifier, inSubscript: boolean) => void): void {
  const visit = (x: ast.Expr, inSubscript: boolean): void => {
    if (x.kind === 'name') f(x.name, inSubscript);
    if (x.kind === 'access') x.subscripts.forEach((s) => visit(s, true));
    if (x.kind === 'call' || x.kind === 'macro') x.args.forEach((a) => visit(a, inSubscript));
    if (x.kind === 'unary') visit(x.operand, inSubscript);
    if (x.kind === 'paren') visit(x.inner, inSubscript);
    if (x.kind === 'reduction') visit(x.body, inSubscript);
    if (x.kind === 'binary') {
      visit(x.left, inSubscript);
      visit(x.right, inSubscript);
    }
  };
  visit(e, false);
}

/**
 * The block's indices, found as the checker finds them (`check/scope.ts`): lower-case names in
 * input declarations, on the left, in reducer and macro lists and in any subscript, except
 * params and consts. Judged before checking, so a macro's mistakes are reported in its terms.
 */
function indicesOf(block: ast.Attention): Set<string> {
  const scalars = new Set<string>();
  for (const item of block.items)
    if (item.kind === 'param' || item.kind === 'const') scalars.add(item.name.text);
  const out = new Set<string>();
  const note = (id: ast.Identifier) => {
    if (/^[a-z]/.test(id.text) && !scalars.has(id.text)) out.add(id.text);
  };
  const visit = (e: ast.Expr) => {
    forEachName(e, (id, inSubscript) => inSubscript && note(id));
    if (e.kind === 'reduction' || e.kind === 'macro') e.indices.forEach(note);
  };
  for (const item of block.items) {
    if (item.kind === 'input') item.indices.forEach(note);
    if (item.kind !== 'equation' && item.kind !== 'init') continue;
    item.subscripts.forEach((s) => forEachName(s, note));
    visit(item.value);
    if (item.kind === 'equation' && item.filter) visit(item.filter);
  }
  return out;
}

/** The indices `e` uses, bare or in subscripts, each with the span of its first use. */
function indicesIn(e: ast.Expr, indices: ReadonlySet<string>): Map<string, Span> {
  const out = new Map<string, Span>();
  forEachName(e, (id) => {
    if (indices.has(id.text) && !out.has(id.text)) out.set(id.text, id.span);
  });
  return out;
}

// ── Builders for synthesised AST (every node spans the macro call) ───────────────────────

const ident = (text: string, span: Span): ast.Identifier => ({ kind: 'identifier', text, span });
const name = (id: ast.Identifier): ast.Expr => ({ kind: 'name', name: id, span: id.span });
const access = (tensor: string, indices: readonly ast.Identifier[], span: Span): ast.Expr => ({
  kind: 'access',
  tensor: ident(tensor, span),
  subscripts: indices.map(name),
  span,
});
const binary = (op: ast.BinaryOperator, left: ast.Expr, right: ast.Expr, span: Span): ast.Expr => ({
  kind: 'binary',
  op,
  left,
  right,
  opSpan: span,
  span,
});
const equation = (
  target: string,
  indices: readonly ast.Identifier[],
  value: ast.Expr,
  filter: ast.Expr | null,
  span: Span,
): ast.EquationStmt => ({
  kind: 'equation',
  target: ident(target, span),
  subscripts: indices.map(name),
  value,
  filter,
  span,
});
const reduce = (
  reducer: ast.Reducer,
  over: readonly ast.Identifier[],
  body: ast.Expr,
  span: Span,
): ast.Expr => ({
  kind: 'reduction',
  reducer,
  reducerSpan: span,
  indices: over,
  body,
  span,
});

/**
 * What `softmax[m](x)` on `T[...]` requires beyond the grammar, checked before expanding so
 * that a mistake is reported once, in the macro's terms, rather than in each generated equation.
 */
function softmaxProblem(call: ast.MacroCall, stmt: ast.EquationStmt, ctx: MacroContext): boolean {
  const { bag } = ctx;
  if (call.args.length !== 1) {
    bag.report('E303', call.span, ['softmax', '1 argument', call.args.length]);
    return true;
  }
  const plain = stmt.subscripts.find((s) => s.kind !== 'name');
  if (plain) {
    bag.report('E207', plain.span);
    return true;
  }
  const upper = call.indices.find((m) => !/^[a-z]/.test(m.text));
  if (upper) {
    bag.report('E111', upper.span, [upper.text]);
    return true;
  }
  const left = new Set(stmt.subscripts.map((s) => (s.kind === 'name' ? s.name.text : '')));
  const used = indicesIn(call.args[0], ctx.indices);
  for (const m of call.indices) {
    if (!left.has(m.text)) {
      bag.report('E114', m.span, ['softmax', m.text]);
      return true;
    }
    if (!used.has(m.text)) {
      bag.report('E205', m.span, [m.text, 'does not appear in the argument of `softmax`'], {
        hint: `\`softmax[${m.text}]\` normalises along \`${m.text}\`: read the argument at \`${m.text}\``,
      });
      return true;
    }
  }
  for (const [i, span] of used) {
    if (left.has(i)) continue;
    bag.report('E206', span, [i, 'softmax'], {
      hint: `the argument of \`softmax\` may use only the indices on the left; compute it in an equation of its own (which sums over \`${i}\`)`,
    });
    return true;
  }
  return clashes(stmt.target, call, ctx);
}

/** The generated tensors (`A_max`, ...) must not collide with the block's own names. */
function clashes(target: ast.Identifier, call: ast.MacroCall, ctx: MacroContext): boolean {
  const generated = SOFTMAX_PARTS.map((part) => `${target.text}_${part}`);
  const clash = generated.find((g) => ctx.taken.has(g));
  if (!clash) return false;
  ctx.bag.report('E103', call.callee.span, [clash], {
    hint: `\`softmax\` on \`${target.text}\` defines ${generated.map((g) => `\`${g}\``).join(', ')}; rename \`${clash}\` or \`${target.text}\``,
    related: [ctx.bag.related(ctx.taken.get(clash)!, `\`${clash}\` is first declared here`)],
  });
  return true;
}

const SOFTMAX_PARTS = ['max', 'exp', 'sum'] as const;

function expandSoftmax(
  call: ast.MacroCall,
  stmt: ast.EquationStmt,
  ctx: MacroContext,
): ast.Item[] | null {
  if (softmaxProblem(call, stmt, ctx)) return null;
  const span = call.span;
  const all = stmt.subscripts.map((s) => (s as ast.NameRef).name);
  const over = call.indices;
  const kept = all.filter((i) => !over.some((m) => m.text === i.text));
  const t = stmt.target.text;
  const x = call.args[0];
  const [maxName, expName, sumName] = SOFTMAX_PARTS.map((part) => `${t}_${part}`);
  return [
    equation(maxName, kept, reduce('max', over, x, span), stmt.filter, span),
    equation(
      expName,
      all,
      {
        kind: 'call',
        callee: ident('exp', span),
        args: [binary('-', x, access(maxName, kept, span), span)],
        span,
      },
      stmt.filter,
      span,
    ),
    equation(sumName, kept, reduce('sum', over, access(expName, all, span), span), null, span),
    {
      ...equation(
        t,
        all,
        binary('/', access(expName, all, span), access(sumName, kept, span), span),
        null,
        span,
      ),
      target: stmt.target,
      span: stmt.span,
    },
  ];
}
