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
import { closest } from './names.ts';
import { buildScope, type BlockScope, type Definition } from './scope.ts';
import { checkSchedule } from './schedule.ts';
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

  const inits = groupInits(scope);
  // A piecewise tensor has several definitions; they are ordered and checked together.
  const defs = new Map<string, Definition[]>();
  for (const d of scope.definitions) defs.set(d.target, [...(defs.get(d.target) ?? []), d]);
  const readsOf = (d: Definition): Set<string> => {
    const out = tensorsIn(d.stmt.value);
    tensorsIn(d.stmt.filter, out);
    d.stmt.subscripts.forEach((s) => tensorsIn(s, out));
    if (d.kind === 'recurrence')
      for (const init of inits.get(d.target) ?? []) tensorsIn(init.value, out);
    return out;
  };
  // A plain equation that reads itself is one error on its own line; the other statements are
  // still checked (readers of it are not: it is marked failed).
  for (const d of scope.definitions) {
    if (d.kind === 'equation' && !scope.failed.has(d.target) && readsOf(d).has(d.target)) {
      bag.report('E402', d.stmt.target.span, [`\`${d.target}\` uses \`${d.target}\``]);
      scope.failed.add(d.target);
    }
  }
  const order = stableTopologicalOrder([...defs.keys()], (t) =>
    defs
      .get(t)!
      .flatMap((d) => [...readsOf(d)])
      .filter((r) => defs.has(r)),
  );
  if (order.cycle) {
    const first = defs.get(order.cycle[0])![0];
    bag.report('E402', first.stmt.target.span, [order.cycle.map((n) => `\`${n}\``).join(' uses ')]);
  }

  const body: Statement[] = [];
  for (const target of order.order) {
    for (const d of defs.get(target)!) {
      const s = checkDefinition(d, scope, extents, (t) => inits.get(t) ?? []);
      if (s) body.push(s);
    }
  }
  // Unbound extents after a failed statement are usually that statement's fault: don't cascade.
  if (!failedAnywhere(scope)) extents.reportUnbound();
  const outputs = checkOutputs(block, scope, bag);
  const schedule = checkSchedule(block, scope, bag);
  if (failedAnywhere(scope) || bag.hasErrors) return null;

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
    schedule,
    origin: block.span,
  };
}

/**
 * The `init`s of each recurrence. An `init` for a plain equation (the update lacks its `i + 1`)
 * is reported once, here, and the equation is marked failed: its self-read is the same mistake.
 */
function groupInits(scope: BlockScope): Map<string, ast.InitStmt[]> {
  const { bag } = scope;
  const inits = new Map<string, ast.InitStmt[]>();
  for (const init of scope.inits) {
    const name = init.target.text;
    const def = scope.definitions.find((d) => d.target === name);
    if (def?.kind === 'recurrence') {
      inits.set(name, [...(inits.get(name) ?? []), init]);
      continue;
    }
    if (!def) {
      const recurrences = scope.definitions.filter((d) => d.kind === 'recurrence');
      const best = closest(
        name,
        recurrences.map((d) => d.target),
      );
      bag.report(
        'E403',
        init.target.span,
        [name],
        best ? { hint: `did you mean \`${best}\`?` } : {},
      );
      continue;
    }
    const lhs = def.stmt.subscripts;
    const only = lhs.length === 1 && lhs[0].kind === 'name' ? lhs[0].name.text : null;
    bag.report('E403', init.target.span, [name], {
      hint: only
        ? `write the update as \`${name}[${only} + 1] = ...\``
        : `write the update with \`i + 1\` in one subscript on the left`,
      related: [bag.related(def.stmt.target.span, `\`${name}\` is defined here without a step`)],
    });
    scope.failed.add(name);
  }
  return inits;
}

/**
 * Whether anything in the block failed: an error in its own bag, or a name marked failed for an
 * error reported elsewhere (a macro that did not expand is reported by the expander).
 */
function failedAnywhere(scope: BlockScope): boolean {
  return scope.bag.hasErrors || scope.failed.size > 0;
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

function undefinedOutputHint(name: string, scope: BlockScope): { hint?: string } {
  if (scope.inputs.has(name))
    return {
      hint: `\`${name}\` is an input; outputs are computed tensors (\`O[...] = ${name}[...]\`)`,
    };
  const what = scope.params.has(name) ? 'a param' : scope.consts.has(name) ? 'a const' : null;
  if (what) return { hint: `\`${name}\` is ${what}; outputs are computed tensors` };
  const best = closest(
    name,
    scope.definitions.map((d) => d.target),
  );
  return best ? { hint: `did you mean \`${best}\`?` } : {};
}

function checkOutputs(block: ast.Attention, scope: BlockScope, bag: DiagnosticBag): TensorName[] {
  const outputs: TensorName[] = [];
  const decls = block.items.filter((i): i is ast.OutputDecl => i.kind === 'output');
  if (decls.length === 0) bag.report('E109', block.name.span, [block.name.text]);
  const listed = new Map<string, ast.Identifier>();
  for (const decl of decls) {
    for (const id of decl.names) {
      const def = scope.definitions.find((d) => d.target === id.text);
      const first = listed.get(id.text);
      if (first)
        bag.report('E103', id.span, [id.text], {
          hint: 'list each output once',
          related: [bag.related(first.span, `\`${id.text}\` is first listed here`)],
        });
      else if (!def) bag.report('E105', id.span, [id.text], undefinedOutputHint(id.text, scope));
      else outputs.push(id.text as TensorName);
      listed.set(id.text, first ?? id);
    }
  }
  const used = new Set<string>();
  for (const d of scope.definitions)
    for (const t of tensorsIn(d.stmt.value, tensorsIn(d.stmt.filter)))
      if (t !== d.target) used.add(t);
  // An unused tensor is worth a warning only in a spec that is otherwise correct.
  if (failedAnywhere(scope)) return outputs;
  for (const d of scope.definitions) {
    if (!used.has(d.target) && !outputs.includes(d.target as TensorName))
      bag.report('W101', d.stmt.target.span, [d.target]);
  }
  return outputs;
}
