/**
 * A one-line, `.attn`-like rendering of a statement for the header comment of its kernel, so a
 * reviewer of generated WGSL can see which equation it computes. Not a printer for re-parsing.
 */
import type { Affine, Atom, Expr, Statement } from '../../compiler/ir.ts';

function atom(a: Atom): string {
  switch (a.kind) {
    case 'index':
    case 'symbol':
      return a.name;
    case 'floordiv':
      return `(${affine(a.num)} / ${affine(a.den)})`;
    case 'mod':
      return `(${affine(a.num)} % ${affine(a.den)})`;
    case 'mul':
      return a.factors.map((f) => `(${affine(f)})`).join(' * ');
    case 'min':
    case 'max':
      return `${a.kind}(${a.args.map(affine).join(', ')})`;
    case 'read':
      return `${a.tensor}[${a.at.map(affine).join(', ')}]`;
  }
}

function affine(a: Affine): string {
  const parts = a.terms.map((t, k) => {
    const body = atom(t.atom);
    const mag = Math.abs(t.coeff) === 1 ? body : `${Math.abs(t.coeff)}*${body}`;
    return k === 0 ? (t.coeff < 0 ? `-${mag}` : mag) : t.coeff < 0 ? ` - ${mag}` : ` + ${mag}`;
  });
  if (parts.length === 0) return String(a.constant);
  if (a.constant !== 0) parts.push(a.constant < 0 ? ` - ${-a.constant}` : ` + ${a.constant}`);
  return parts.join('');
}

function expr(e: Expr): string {
  switch (e.kind) {
    case 'literal':
      return Number.isFinite(e.value) ? String(e.value) : e.value > 0 ? 'inf' : '-inf';
    case 'bool':
      return String(e.value);
    case 'int':
      return affine(e.value);
    case 'param':
    case 'const':
      return e.name;
    case 'read':
      return `${e.tensor}[${e.at.map(affine).join(', ')}]`;
    case 'neg':
      return `-${expr(e.arg)}`;
    case 'not':
      return `!${expr(e.arg)}`;
    case 'arith':
    case 'compare':
    case 'logical':
      return `(${expr(e.lhs)} ${e.op} ${expr(e.rhs)})`;
    case 'icompare':
      return `(${affine(e.lhs)} ${e.op} ${affine(e.rhs)})`;
    case 'call':
      return `${e.fn}(${e.args.map(expr).join(', ')})`;
    case 'select':
      return `select(${expr(e.cond)}, ${expr(e.then)}, ${expr(e.else)})`;
  }
}

export function describeStatement(s: Statement): string {
  const lhs = s.indices.map((i, k) => (s.kind === 'recurrence' && k === s.axis ? `${i} + 1` : i));
  const reduce = s.reduce ? `${s.reduce.op}[${s.reduce.over.join(', ')}] ` : '';
  const filter = s.filter ? ` where ${expr(s.filter)}` : '';
  const init = s.kind === 'recurrence' ? ` (init ${expr(s.init)})` : '';
  // Newlines or other control characters in names must not break out of the `//` comment.
  return `${s.target}[${lhs.join(', ')}] = ${reduce}${expr(s.body)}${filter}${init}`.replace(
    /[\u0000-\u001f\u007f\u2028\u2029]/g,
    '?',
  );
}
