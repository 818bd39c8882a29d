/**
 * IR → `.attn` text. The printer and the front end are inverses: checking the printed text of a
 * program gives back the same program (`test/compiler/round-trip.test.ts`). So anything a pass
 * can produce must be printable; the printer is also what `attnc explain` shows.
 *
 * Printing is canonical: reductions are always explicit (`sum[e] ...`), index expressions are
 * printed in their canonical term order, and parentheses appear only where precedence needs them.
 */
import { assertNever } from './diagnostics/diagnostic.ts';
import type { Affine, Atom, Expr, Program, Schedule, Statement } from './ir.ts';

/** Binding strength, loosest first; the grammar's precedence levels. */
const enum Prec {
  Or = 1,
  And = 2,
  Compare = 3,
  Additive = 4,
  Multiplicative = 5,
  Unary = 6,
  Primary = 7,
}

const wrap = (text: string, own: Prec, needed: Prec): string => (own < needed ? `(${text})` : text);

// ── Index expressions ────────────────────────────────────────────────────────────────────

/** Print order of terms: indices, then symbols, then the rest; larger coefficients first. */
const printRank = (t: Affine['terms'][number]) =>
  t.atom.kind === 'index' ? 0 : t.atom.kind === 'symbol' ? 1 : 2;

export function printAffine(a: Affine, needed: Prec = Prec.Or): string {
  const terms = [...a.terms].sort(
    (x, y) => printRank(x) - printRank(y) || Math.abs(y.coeff) - Math.abs(x.coeff),
  );
  const parts: { negative: boolean; text: string; prec: Prec }[] = terms.map((t) => {
    const magnitude = Math.abs(t.coeff);
    const atom = printAtom(t.atom, magnitude === 1 ? Prec.Multiplicative : Prec.Unary);
    return magnitude === 1
      ? { negative: t.coeff < 0, text: atom.text, prec: atom.prec }
      : { negative: t.coeff < 0, text: `${magnitude} * ${atom.text}`, prec: Prec.Multiplicative };
  });
  if (a.constant !== 0 || parts.length === 0) {
    parts.push({
      negative: a.constant < 0,
      text: String(Math.abs(a.constant)),
      prec: Prec.Primary,
    });
  }
  // Lead with a positive term when there is one: `p - m`, not `-m + p`.
  const firstPositive = parts.findIndex((p) => !p.negative);
  if (firstPositive > 0) parts.unshift(...parts.splice(firstPositive, 1));
  if (parts.length === 1) {
    const [p] = parts;
    return p.negative
      ? wrap(`-${wrap(p.text, p.prec, Prec.Unary)}`, Prec.Unary, needed)
      : wrap(p.text, p.prec, needed);
  }
  let text = parts[0].negative
    ? `-${wrap(parts[0].text, parts[0].prec, Prec.Unary)}`
    : parts[0].text;
  for (const p of parts.slice(1))
    text += ` ${p.negative ? '-' : '+'} ${wrap(p.text, p.prec, Prec.Multiplicative)}`;
  return wrap(text, Prec.Additive, needed);
}

function printAtom(atom: Atom, needed: Prec): { text: string; prec: Prec } {
  const done = (text: string, prec: Prec) => ({
    text: wrap(text, prec, needed),
    prec: prec < needed ? Prec.Primary : prec,
  });
  switch (atom.kind) {
    case 'index':
    case 'symbol':
      return done(atom.name, Prec.Primary);
    case 'floordiv':
    case 'mod':
      return done(
        `${printAffine(atom.num, Prec.Multiplicative)} ${atom.kind === 'mod' ? '%' : '/'} ${printAffine(atom.den, Prec.Unary)}`,
        Prec.Multiplicative,
      );
    case 'mul':
      return done(
        atom.factors.map((f) => printAffine(f, Prec.Unary)).join(' * '),
        Prec.Multiplicative,
      );
    case 'min':
    case 'max':
      return done(`${atom.kind}(${atom.args.map((x) => printAffine(x)).join(', ')})`, Prec.Primary);
    case 'read':
      return done(`${atom.tensor}[${atom.at.map((x) => printAffine(x)).join(', ')}]`, Prec.Primary);
    default:
      return assertNever(atom, 'atom');
  }
}

// ── Values ───────────────────────────────────────────────────────────────────────────────

export function printNumber(value: number): string {
  if (value === Infinity) return 'inf';
  if (value === -Infinity) return '-inf';
  return String(value);
}

const BINARY_PREC: Record<string, Prec> = {
  '||': Prec.Or,
  '&&': Prec.And,
  '==': Prec.Compare,
  '!=': Prec.Compare,
  '<': Prec.Compare,
  '<=': Prec.Compare,
  '>': Prec.Compare,
  '>=': Prec.Compare,
  '+': Prec.Additive,
  '-': Prec.Additive,
  '*': Prec.Multiplicative,
  '/': Prec.Multiplicative,
};

function infix(op: string, lhs: string, rhs: string, needed: Prec): string {
  return wrap(`${lhs} ${op} ${rhs}`, BINARY_PREC[op], needed);
}

export function printExpr(e: Expr, needed: Prec = Prec.Or): string {
  switch (e.kind) {
    case 'literal': {
      const text = printNumber(e.value);
      return e.value < 0 ? wrap(text, Prec.Unary, needed) : text;
    }
    case 'bool':
      return String(e.value);
    case 'int':
      return printAffine(e.value, needed);
    case 'param':
    case 'const':
      return e.name;
    case 'read':
      return `${e.tensor}[${e.at.map((a) => printAffine(a)).join(', ')}]`;
    case 'neg':
      return wrap(`-${printExpr(e.arg, Prec.Unary)}`, Prec.Unary, needed);
    case 'not':
      return wrap(`!${printExpr(e.arg, Prec.Unary)}`, Prec.Unary, needed);
    case 'arith':
    case 'logical': {
      const p = BINARY_PREC[e.op];
      return infix(e.op, printExpr(e.lhs, p), printExpr(e.rhs, (p + 1) as Prec), needed);
    }
    case 'compare':
      // Comparisons do not chain: both operands bind tighter.
      return infix(e.op, printExpr(e.lhs, Prec.Additive), printExpr(e.rhs, Prec.Additive), needed);
    case 'icompare':
      return infix(
        e.op,
        printAffine(e.lhs, Prec.Additive),
        printAffine(e.rhs, Prec.Additive),
        needed,
      );
    case 'call':
      return `${e.fn}(${e.args.map((a) => printExpr(a)).join(', ')})`;
    case 'select':
      return `select(${printExpr(e.cond)}, ${printExpr(e.then)}, ${printExpr(e.else)})`;
    default:
      return assertNever(e, 'expression');
  }
}

// ── Statements and programs ──────────────────────────────────────────────────────────────

function printRightSide(s: Statement): string {
  const reduce = s.reduce
    ? `${s.reduce.op}[${[...s.reduce.over, ...(s.reduce.rank ? [s.reduce.rank] : [])].join(', ')}] `
    : '';
  const filter = s.filter ? ` where ${printExpr(s.filter)}` : '';
  return `${reduce}${printExpr(s.body)}${filter}`;
}

export function printStatement(s: Statement): string[] {
  if (s.kind === 'equation') return [`${s.target}[${s.indices.join(', ')}] = ${printRightSide(s)}`];
  const at = (step: string) => s.indices.map((i, k) => (k === s.axis ? step : i)).join(', ');
  return [
    `init ${s.target}[${at('0')}] = ${printExpr(s.init)}`,
    `${s.target}[${at(`${s.indices[s.axis]} + 1`)}] = ${printRightSide(s)}`,
  ];
}

/** The `schedule { ... }` block, or nothing when the schedule is empty. */
export function printSchedule(s: Schedule): string[] {
  const entries = [
    ...s.tiles.map((t) => `tile ${t.index} = ${t.size}`),
    ...s.fused.map((t) => `fuse ${t}`),
    ...s.groups.map((g) => `group ${g.index} / ${g.by}`),
    ...s.splits.map((i) => `split ${i}`),
  ];
  return entries.length === 0 ? [] : ['schedule {', ...entries.map((e) => `  ${e}`), '}'];
}

export function printProgram(p: Program): string {
  const lines: string[] = [];
  for (const input of p.inputs)
    lines.push(
      `input ${input.name}[${input.indices.join(', ')}]${input.dtype === 'f32' ? '' : `: ${input.dtype}`}`,
    );
  for (const param of p.params)
    lines.push(`param ${param.name}: ${param.type} = ${printExpr(param.default)}`);
  for (const c of p.consts)
    lines.push(`const ${c.name} = ${c.type === 'i32' ? printAffine(c.value) : printExpr(c.value)}`);
  for (const s of p.body) lines.push(...printStatement(s));
  lines.push(`output ${p.outputs.join(', ')}`);
  lines.push(...printSchedule(p.schedule));
  return `attention ${p.name} {\n${lines.map((l) => `  ${l}`).join('\n')}\n}\n`;
}

export function printPrograms(programs: readonly Program[]): string {
  return programs.map(printProgram).join('\n');
}
