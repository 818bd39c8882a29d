/**
 * Bare names in expressions: what `m`, `M`, `G`, `cap` or `inf` refer to, and the diagnostics
 * for names that refer to nothing usable here, with a "did you mean" where one is likely.
 */
import * as A from '../affine.ts';
import type * as ast from '../../grammar/ast.ts';
import type { ExprContext, Typed } from './exprs.ts';
import { BUILTIN_CONSTANTS, type BlockScope } from './scope.ts';

export function convertName(id: ast.Identifier, ctx: ExprContext): Typed | null {
  const { scope } = ctx;
  const name = id.text;
  const param = scope.params.get(name);
  if (param) {
    if (scope.failed.has(name)) return null; // its type is unknown; already reported
    if (!ctx.allowParams) {
      scope.bag.report('E308', id.span, ['param', name, ctx.where]);
      return null;
    }
    if (param.type === 'i32') return { type: 'int', value: A.symbol(name) };
    return { type: param.type === 'bool' ? 'bool' : 'real', value: { kind: 'param', name } };
  }
  if (scope.consts.has(name)) {
    const type = scope.constTypes.get(name);
    if (!type) return null; // the const itself failed to check; already reported
    return type === 'bool'
      ? { type: 'bool', value: { kind: 'const', name } }
      : { type: 'int', value: A.symbol(name) };
  }
  if (scope.extents.has(name)) return { type: 'int', value: A.symbol(name) };
  if (scope.indices.has(name) && ctx.indices?.has(name))
    return { type: 'int', value: A.index(name) };
  const builtin = BUILTIN_CONSTANTS.get(name);
  if (builtin !== undefined) return { type: 'real', value: { kind: 'literal', value: builtin } };
  reportUnusable(id, ctx);
  return null;
}

/** A name that is unknown, or known but not usable in this context. */
function reportUnusable(id: ast.Identifier, ctx: ExprContext): void {
  const { scope } = ctx;
  const name = id.text;
  if (scope.tensors.has(name)) {
    scope.bag.report('E104', id.span, [name], {
      hint: `\`${name}\` is a tensor; read it with subscripts: \`${name}[...]\``,
    });
  } else if (scope.indices.has(name)) {
    const hint =
      ctx.where === 'this init'
        ? 'an `init` is the value at step 0: it may use the indices on its left, not the step index'
        : `${ctx.where} is one value for the whole block; indices vary only inside an equation`;
    scope.bag.report('E308', id.span, ['index', name, ctx.where], { hint });
  } else {
    scope.bag.report('E104', id.span, [name], suggest(name, ctx));
  }
}

/** "did you mean" among the names visible here, or what an upper-case name would have been. */
function suggest(name: string, ctx: ExprContext): { hint?: string } {
  const { scope } = ctx;
  const candidates = [
    ...scope.params.keys(),
    ...scope.consts.keys(),
    ...scope.extents.keys(),
    ...(ctx.indices ?? []),
    ...BUILTIN_CONSTANTS.keys(),
  ];
  const best = closest(name, candidates);
  if (best) return { hint: `did you mean \`${best}\`?` };
  if (/^[A-Z][A-Z0-9_]*$/.test(name)) return { hint: extentHint(name, scope) };
  return {};
}

/** `D` looks like an extent: say which index it would belong to, and which extents exist. */
function extentHint(name: string, scope: BlockScope): string {
  const extents = [...scope.extents.keys()].map((e) => `\`${e}\``);
  const known = extents.length > 0 ? `; the extents here are ${extents.join(', ')}` : '';
  return `\`${name}\` would be the extent of an index \`${name.toLowerCase()}\`, which this block does not use${known}`;
}

export function closest(name: string, candidates: Iterable<string>): string | null {
  // Short names are all close to each other; only suggest for a case slip there (`q` → `Q`).
  const limit = name.length < 3 ? 0 : Math.floor(name.length / 3);
  let best: string | null = null;
  let bestDistance = limit + 1;
  for (const c of candidates) {
    if (c === name) continue;
    const d = editDistance(name.toLowerCase(), c.toLowerCase());
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length];
}
