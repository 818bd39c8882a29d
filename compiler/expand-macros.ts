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

type Expansion = (
  call: ast.MacroCall,
  stmt: ast.EquationStmt,
  bag: DiagnosticBag,
) => ast.Item[] | null;

const MACROS: Readonly<Record<string, Expansion>> = { softmax: expandSoftmax };

export function expandMacros(module: ast.Module, bag: DiagnosticBag): ast.Module {
  let changed = false;
  const attentions = module.attentions.map((block) => {
    const items = block.items.flatMap((item): ast.Item[] => {
      if (item.kind !== 'equation' || item.value.kind !== 'macro') return [item];
      changed = true;
      const call = item.value;
      const expand = MACROS[call.callee.text];
      if (!expand) {
        bag.report('E113', call.callee.span, [call.callee.text, Object.keys(MACROS).join(', ')]);
        return [{ kind: 'error', span: item.span }];
      }
      return expand(call, item, bag) ?? [{ kind: 'error', span: item.span }];
    });
    return items === block.items ? block : { ...block, items };
  });
  return changed ? { ...module, attentions } : module;
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

function expandSoftmax(
  call: ast.MacroCall,
  stmt: ast.EquationStmt,
  bag: DiagnosticBag,
): ast.Item[] | null {
  const span = call.span;
  if (call.args.length !== 1) {
    bag.report('E303', span, ['softmax', 1, call.args.length]);
    return null;
  }
  const lhs = stmt.subscripts.map((s) => (s.kind === 'name' ? s.name : null));
  if (lhs.some((s) => s === null)) {
    bag.report('E207', stmt.subscripts.find((s) => s.kind !== 'name')!.span);
    return null;
  }
  const all = lhs as ast.Identifier[];
  const over = call.indices;
  for (const m of over) {
    if (!all.some((i) => i.text === m.text)) {
      bag.report('E114', m.span, ['softmax', m.text]);
      return null;
    }
  }
  const kept = all.filter((i) => !over.some((m) => m.text === i.text));
  const t = stmt.target.text;
  const x = call.args[0];
  const [maxName, expName, sumName] = [`${t}_max`, `${t}_exp`, `${t}_sum`];
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
