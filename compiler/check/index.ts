/**
 * The checker: AST → IR plus diagnostics. It reports every user error it can find in one run
 * and produces a `Program` only for blocks without errors. The phases, in order:
 *   scope (names, duplicates) → consts → params → statements in dependency order (Einsum rule,
 *   types, extents) → extents nothing determines → outputs.
 */
import type * as ast from '../../grammar/ast.ts';
import { DiagnosticBag, type Diagnostic } from '../diagnostics/diagnostic.ts';
import * as A from '../affine.ts';
import type { ConstDecl, IndexName, InputDecl, Program, Statement, TensorName } from '../ir.ts';
import { extentName } from '../ir.ts';
import { checkConsts, checkParams } from './declarations.ts';
import { ExtentTable } from './extents.ts';
import { stableTopologicalOrder } from './order.ts';
import { buildScope, type BlockScope, type Definition } from './scope.ts';
import { checkDefinition } from './statements.ts';

export interface CheckResult {
  /** One program per `attention` block that checked without errors. */
  readonly programs: readonly Program[];
  readonly diagnostics: readonly Diagnostic[];
}

export function checkModule(module: ast.Module, file: string): CheckResult {
  const bag = new DiagnosticBag(file);
  if (module.attentions.length === 0)
    bag.report('E012', { start: module.span.start, end: module.span.start });
  const programs: Program[] = [];
  const seen = new Map<string, ast.Attention>();
  for (const block of module.attentions) {
    const prev = seen.get(block.name.text);
    if (prev) {
      bag.report('E110', block.name.span, [block.name.text], {
        related: [bag.related(prev.name.span, 'first declared here')],
      });
      continue;
    }
    seen.set(block.name.text, block);
    const blockBag = new DiagnosticBag(file);
    const program = checkAttention(block, blockBag, file);
    bag.addAll(blockBag.sorted());
    if (program && !blockBag.hasErrors) programs.push(program);
  }
  return { programs, diagnostics: bag.sorted() };
}

/** Tensors an expression reads (by name, before checking): the dependency graph's edges. */
function tensorsIn(e: ast.Expr | null, out: Set<string> = new Set()): Set<string> {
  if (!e) return out;
  switch (e.kind) {
    case 'access':
      out.add(e.tensor.text);
      e.subscripts.forEach((s) => tensorsIn(s, out));
      break;
    case 'call':
    case 'macro':
      e.args.forEach((a) => tensorsIn(a, out));
      break;
    case 'unary':
      tensorsIn(e.operand, out);
      break;
    case 'binary':
      tensorsIn(e.left, out);
      tensorsIn(e.right, out);
      break;
    case 'reduction':
      tensorsIn(e.body, out);
      break;
    case 'paren':
      tensorsIn(e.inner, out);
      break;
    default:
      break;
  }
  return out;
}

function checkAttention(block: ast.Attention, bag: DiagnosticBag, file: string): Program | null {
  const scope = buildScope(block, bag);
  const consts = checkConsts(scope);
  const params = checkParams(scope);
  const extents = new ExtentTable(scope);

  const inits = new Map<string, ast.InitStmt[]>();
  for (const init of scope.inits) {
    const def = scope.definitions.find((d) => d.target === init.target.text);
    if (!def || def.kind !== 'recurrence') {
      bag.report('E403', init.target.span, [init.target.text], {
        hint: def
          ? `write the update of \`${init.target.text}\` with \`i + 1\` on the left`
          : undefined,
      });
      continue;
    }
    inits.set(init.target.text, [...(inits.get(init.target.text) ?? []), init]);
  }

  const defs = new Map(scope.definitions.map((d) => [d.target, d]));
  const readsOf = (d: Definition): Set<string> => {
    const out = tensorsIn(d.stmt.value);
    tensorsIn(d.stmt.filter, out);
    d.stmt.subscripts.forEach((s) => tensorsIn(s, out));
    if (d.kind === 'recurrence')
      for (const init of inits.get(d.target) ?? []) tensorsIn(init.value, out);
    return out;
  };
  const order = stableTopologicalOrder(
    scope.definitions.map((d) => d.target),
    (t) => [...readsOf(defs.get(t)!)].filter((r) => defs.has(r)),
    (t) => defs.get(t)!.kind === 'equation' && readsOf(defs.get(t)!).has(t),
  );
  if (order.cycle) {
    const first = defs.get(order.cycle[0])!;
    bag.report('E402', first.stmt.target.span, [order.cycle.map((n) => `\`${n}\``).join(' uses ')]);
  }

  const body: Statement[] = [];
  for (const target of order.order) {
    const s = checkDefinition(defs.get(target)!, scope, extents, (t) => inits.get(t) ?? []);
    if (s) body.push(s);
  }
  // Unbound extents after a failed statement are usually that statement's fault: don't cascade.
  if (!bag.hasErrors) extents.reportUnbound();
  const outputs = checkOutputs(block, scope, bag);
  if (bag.hasErrors) return null;

  const inputs: InputDecl[] = [...scope.inputs.values()].map((d) => ({
    name: d.name.text as TensorName,
    dtype: scope.tensors.get(d.name.text)!.dtype,
    indices: d.indices.map((i) => i.text as IndexName),
    origin: d.span,
  }));
  return {
    name: block.name.text,
    file,
    inputs,
    params,
    consts: orderConsts([...consts, ...extents.aliases]),
    indices: [...scope.indices.keys()]
      .sort()
      .map((i) => ({ name: i as IndexName, extent: extentName(i) })),
    body,
    outputs,
    origin: block.span,
  };
}

/** Consts (user and learnt extents) in dependency order. */
function orderConsts(consts: readonly ConstDecl[]): ConstDecl[] {
  const byName = new Map(consts.map((c) => [c.name, c]));
  const deps = (c: ConstDecl): string[] => (c.type === 'i32' ? [...A.symbolsOf(c.value)] : []);
  const { order } = stableTopologicalOrder(
    consts.map((c) => c.name),
    (n) => deps(byName.get(n)!),
  );
  return order.map((n) => byName.get(n)!);
}

function checkOutputs(block: ast.Attention, scope: BlockScope, bag: DiagnosticBag): TensorName[] {
  const outputs: TensorName[] = [];
  const decls = block.items.filter((i): i is ast.OutputDecl => i.kind === 'output');
  if (decls.length === 0) bag.report('E109', block.name.span, [block.name.text]);
  for (const decl of decls) {
    for (const id of decl.names) {
      const def = scope.definitions.find((d) => d.target === id.text);
      if (!def) bag.report('E105', id.span, [id.text]);
      else if (outputs.includes(id.text as TensorName)) bag.report('E103', id.span, [id.text]);
      else outputs.push(id.text as TensorName);
    }
  }
  const used = new Set<string>();
  for (const d of scope.definitions)
    for (const t of tensorsIn(d.stmt.value, tensorsIn(d.stmt.filter)))
      if (t !== d.target) used.add(t);
  // An unused tensor is worth a warning only in a spec that is otherwise correct.
  if (bag.hasErrors) return outputs;
  for (const d of scope.definitions) {
    if (!used.has(d.target) && !outputs.includes(d.target as TensorName))
      bag.report('W101', d.stmt.target.span, [d.target]);
  }
  return outputs;
}
