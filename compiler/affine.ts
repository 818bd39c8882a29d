/**
 * Smart constructors for index expressions (`Affine`, see `ir.ts`). Every `Affine` in the
 * compiler comes from here, so every one is canonical: terms sorted by `atomKey`, like terms
 * merged, no zero coefficients. Two index expressions are equal iff their keys are equal.
 *
 * The simplifications are local algebra, one rule per line:
 *   c1 + c2            → constant                     (constant folding)
 *   k·a + j·a          → (k + j)·a                    (like terms)
 *   0·a                → dropped
 *   a * c, c * a       → c·a (scaled)                 (a product with a constant stays affine)
 *   floor(c1 / c2)     → constant
 *   floor(a / 1)       → a
 *   floor((b·X + Y)/b) → X + floor(Y / b)             (b a positive literal, X the divisible part)
 *   (c1 % c2)          → constant
 *   a % 1              → 0
 *   min/max(c1, c2)    → constant
 */
import { InternalError } from './diagnostics/diagnostic.ts';
import type { Affine, Atom, IndexName, TensorName, Term } from './ir.ts';

// ── Keys and ordering ────────────────────────────────────────────────────────────────────

const KIND_RANK: Record<Atom['kind'], number> = {
  index: 0,
  symbol: 1,
  read: 2,
  floordiv: 3,
  mod: 4,
  mul: 5,
  min: 6,
  max: 7,
};

/** A string that identifies an atom up to structural equality, and orders atoms canonically. */
export function atomKey(atom: Atom): string {
  const rank = KIND_RANK[atom.kind];
  switch (atom.kind) {
    case 'index':
    case 'symbol':
      return `${rank}${atom.name}`;
    case 'read':
      return `${rank}${atom.tensor}[${atom.at.map(affineKey).join(',')}]`;
    case 'floordiv':
    case 'mod':
      return `${rank}(${affineKey(atom.num)})/(${affineKey(atom.den)})`;
    case 'mul':
      return `${rank}(${atom.factors.map(affineKey).join(')*(')})`;
    case 'min':
    case 'max':
      return `${rank}(${atom.args.map(affineKey).join(',')})`;
  }
}

export function affineKey(a: Affine): string {
  return a.terms.map((t) => `${t.coeff}*${atomKey(t.atom)}`).join('+') + `+${a.constant}`;
}

export function affineEqual(a: Affine, b: Affine): boolean {
  return a === b || affineKey(a) === affineKey(b);
}

// ── Constructors ─────────────────────────────────────────────────────────────────────────

function checkInteger(n: number, what: string): number {
  if (!Number.isSafeInteger(n)) throw new InternalError(`${what} must be a safe integer, got ${n}`);
  return n;
}

/** The canonical affine expression `Σ terms + constant`. */
export function makeAffine(terms: readonly Term[], constant: number): Affine {
  checkInteger(constant, 'affine constant');
  const merged = new Map<string, { atom: Atom; coeff: number }>();
  for (const t of terms) {
    checkInteger(t.coeff, 'affine coefficient');
    const key = atomKey(t.atom);
    const prev = merged.get(key);
    merged.set(key, { atom: prev?.atom ?? t.atom, coeff: (prev?.coeff ?? 0) + t.coeff });
  }
  const sorted = [...merged.entries()]
    .filter(([, t]) => t.coeff !== 0)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([, t]) => t);
  return { kind: 'affine', terms: sorted, constant };
}

export function constant(value: number): Affine {
  return makeAffine([], value);
}

export function fromAtom(atom: Atom): Affine {
  return makeAffine([{ atom, coeff: 1 }], 0);
}

export function index(name: string): Affine {
  return fromAtom({ kind: 'index', name: name as IndexName });
}

export function symbol(name: string): Affine {
  return fromAtom({ kind: 'symbol', name });
}

export function read(tensor: string, at: readonly Affine[]): Affine {
  return fromAtom({ kind: 'read', tensor: tensor as TensorName, at });
}

export function add(a: Affine, b: Affine): Affine {
  return makeAffine([...a.terms, ...b.terms], a.constant + b.constant);
}

export function scale(a: Affine, k: number): Affine {
  return makeAffine(
    a.terms.map((t) => ({ atom: t.atom, coeff: t.coeff * k })),
    a.constant * k,
  );
}

export function neg(a: Affine): Affine {
  return scale(a, -1);
}

export function sub(a: Affine, b: Affine): Affine {
  return add(a, neg(b));
}

export function sum(parts: readonly Affine[]): Affine {
  return parts.reduce(add, constant(0));
}

export function mul(a: Affine, b: Affine): Affine {
  if (isConstant(a)) return scale(b, a.constant);
  if (isConstant(b)) return scale(a, b.constant);
  // (Σ) * (Σ) stays one product atom; flattening nested products keeps equal products equal.
  const factors = [a, b].flatMap((f) =>
    isSingleAtom(f, 'mul') ? (f.terms[0].atom as { factors: readonly Affine[] }).factors : [f],
  );
  factors.sort((x, y) => (affineKey(x) < affineKey(y) ? -1 : 1));
  return fromAtom({ kind: 'mul', factors });
}

/** `floor(num / den)`. The caller guarantees (or checks at run time) that `den > 0`. */
export function floorDiv(num: Affine, den: Affine): Affine {
  if (isConstant(den)) {
    const d = den.constant;
    if (d === 1) return num;
    if (d > 0) {
      if (isConstant(num)) return constant(Math.floor(num.constant / d));
      // Pull out the part divisible by d: floor((d·X + Y) / d) = X + floor(Y / d).
      const divisible = num.terms.filter((t) => t.coeff % d === 0);
      const rest = num.terms.filter((t) => t.coeff % d !== 0);
      const c0 = num.constant - mod0(num.constant, d);
      if (divisible.length > 0 || c0 !== 0) {
        const x = makeAffine(
          divisible.map((t) => ({ atom: t.atom, coeff: t.coeff / d })),
          c0 / d,
        );
        const y = makeAffine(rest, num.constant - c0);
        return add(x, isZero(y) ? y : floorDiv(y, den));
      }
    }
  }
  return fromAtom({ kind: 'floordiv', num, den });
}

/** `num mod den` with the sign of `den` (floor modulo). */
export function mod(num: Affine, den: Affine): Affine {
  if (isConstant(den)) {
    const d = den.constant;
    if (d === 1) return constant(0);
    if (d > 0 && isConstant(num)) return constant(mod0(num.constant, d));
  }
  return fromAtom({ kind: 'mod', num, den });
}

export function min(args: readonly Affine[]): Affine {
  return minMax('min', args);
}

export function max(args: readonly Affine[]): Affine {
  return minMax('max', args);
}

function minMax(kind: 'min' | 'max', args: readonly Affine[]): Affine {
  if (args.length === 1) return args[0];
  if (args.every(isConstant)) {
    const values = args.map((a) => a.constant);
    return constant(kind === 'min' ? Math.min(...values) : Math.max(...values));
  }
  return fromAtom({ kind, args });
}

function mod0(a: number, d: number): number {
  return ((a % d) + d) % d;
}

// ── Queries ──────────────────────────────────────────────────────────────────────────────

export function isConstant(a: Affine): boolean {
  return a.terms.length === 0;
}

export function isZero(a: Affine): boolean {
  return a.terms.length === 0 && a.constant === 0;
}

function isSingleAtom(a: Affine, kind?: Atom['kind']): boolean {
  return (
    a.terms.length === 1 &&
    a.terms[0].coeff === 1 &&
    a.constant === 0 &&
    (kind === undefined || a.terms[0].atom.kind === kind)
  );
}

/** The atom itself when `a` is exactly one atom with coefficient 1 and no constant. */
export function asAtom(a: Affine): Atom | null {
  return isSingleAtom(a) ? a.terms[0].atom : null;
}

/** The index name when `a` is exactly a plain index (`m`, not `m + 1` or `2*m`). */
export function asIndex(a: Affine): IndexName | null {
  const atom = asAtom(a);
  return atom?.kind === 'index' ? atom.name : null;
}

/** Every atom of `a`, outermost first, including those nested in divisions, products and reads. */
export function* atomsOf(a: Affine): Generator<Atom> {
  for (const t of a.terms) {
    yield t.atom;
    yield* childAffines(t.atom).flatMap((c) => [...atomsOf(c)]);
  }
}

export function childAffines(atom: Atom): readonly Affine[] {
  switch (atom.kind) {
    case 'index':
    case 'symbol':
      return [];
    case 'floordiv':
    case 'mod':
      return [atom.num, atom.den];
    case 'mul':
      return atom.factors;
    case 'min':
    case 'max':
      return atom.args;
    case 'read':
      return atom.at;
  }
}

/** The indices `a` depends on. */
export function indicesOf(a: Affine): Set<IndexName> {
  const out = new Set<IndexName>();
  for (const atom of atomsOf(a)) if (atom.kind === 'index') out.add(atom.name);
  return out;
}

/** The symbols (extents, consts, i32 params) `a` depends on. */
export function symbolsOf(a: Affine): Set<string> {
  const out = new Set<string>();
  for (const atom of atomsOf(a)) if (atom.kind === 'symbol') out.add(atom.name);
  return out;
}

// ── Rewriting and evaluation ─────────────────────────────────────────────────────────────

/**
 * Rebuilds `a` bottom-up, replacing atoms for which `f` returns an Affine. Returns `a` itself
 * when nothing changed (so "did anything change?" is a reference comparison).
 */
export function mapAtoms(a: Affine, f: (atom: Atom) => Affine | undefined): Affine {
  let changed = false;
  const parts: Affine[] = [];
  for (const t of a.terms) {
    const rebuilt = rebuildAtom(t.atom, f);
    const replaced = f(rebuilt) ?? (rebuilt === t.atom ? undefined : fromAtomRebuilt(rebuilt));
    if (replaced !== undefined) changed = true;
    parts.push(scale(replaced ?? fromAtom(t.atom), t.coeff));
  }
  return changed ? add(sum(parts), constant(a.constant)) : a;
}

/** Re-canonicalises a rebuilt atom (its children may now fold, e.g. `floor(4 / 2)`). */
function fromAtomRebuilt(atom: Atom): Affine {
  switch (atom.kind) {
    case 'floordiv':
      return floorDiv(atom.num, atom.den);
    case 'mod':
      return mod(atom.num, atom.den);
    case 'mul':
      return atom.factors.reduce(mul);
    case 'min':
      return min(atom.args);
    case 'max':
      return max(atom.args);
    default:
      return fromAtom(atom);
  }
}

function rebuildAtom(atom: Atom, f: (atom: Atom) => Affine | undefined): Atom {
  switch (atom.kind) {
    case 'index':
    case 'symbol':
      return atom;
    case 'floordiv':
    case 'mod': {
      const num = mapAtoms(atom.num, f);
      const den = mapAtoms(atom.den, f);
      return num === atom.num && den === atom.den ? atom : { kind: atom.kind, num, den };
    }
    case 'mul': {
      const factors = atom.factors.map((x) => mapAtoms(x, f));
      return factors.every((x, i) => x === atom.factors[i]) ? atom : { kind: 'mul', factors };
    }
    case 'min':
    case 'max': {
      const args = atom.args.map((x) => mapAtoms(x, f));
      return args.every((x, i) => x === atom.args[i]) ? atom : { kind: atom.kind, args };
    }
    case 'read': {
      const at = atom.at.map((x) => mapAtoms(x, f));
      return at.every((x, i) => x === atom.at[i])
        ? atom
        : { kind: 'read', tensor: atom.tensor, at };
    }
  }
}

/** Replaces indices by expressions (`m ↦ m1 * M0 + m0` when tiling). */
export function substituteIndices(a: Affine, subst: ReadonlyMap<IndexName, Affine>): Affine {
  return mapAtoms(a, (atom) => (atom.kind === 'index' ? subst.get(atom.name) : undefined));
}

/** What evaluating an index expression needs from its surroundings. */
export interface AffineEnv {
  index(name: IndexName): number;
  symbol(name: string): number;
  /** Element of an i32 tensor, or `undefined` when the subscripts fall outside it (absent). */
  read(tensor: TensorName, at: readonly number[]): number | undefined;
}

/** Integer value of `a`, or `undefined` when it reads an absent tensor element. */
export function evaluateAffine(a: Affine, env: AffineEnv): number | undefined {
  let total = a.constant;
  for (const t of a.terms) {
    const v = evaluateAtom(t.atom, env);
    if (v === undefined) return undefined;
    total += t.coeff * v;
  }
  return total;
}

function evaluateAtom(atom: Atom, env: AffineEnv): number | undefined {
  switch (atom.kind) {
    case 'index':
      return env.index(atom.name);
    case 'symbol':
      return env.symbol(atom.name);
    case 'floordiv':
    case 'mod': {
      const n = evaluateAffine(atom.num, env);
      const d = evaluateAffine(atom.den, env);
      if (n === undefined || d === undefined) return undefined;
      if (d <= 0) return undefined; // divisors are positive; a zero divisor reads absent
      return atom.kind === 'floordiv' ? Math.floor(n / d) : n - d * Math.floor(n / d);
    }
    case 'mul': {
      let p = 1;
      for (const f of atom.factors) {
        const v = evaluateAffine(f, env);
        if (v === undefined) return undefined;
        p *= v;
      }
      return p;
    }
    case 'min':
    case 'max': {
      const vs: number[] = [];
      for (const x of atom.args) {
        const v = evaluateAffine(x, env);
        if (v === undefined) return undefined;
        vs.push(v);
      }
      return atom.kind === 'min' ? Math.min(...vs) : Math.max(...vs);
    }
    case 'read': {
      const at: number[] = [];
      for (const x of atom.at) {
        const v = evaluateAffine(x, env);
        if (v === undefined) return undefined;
        at.push(v);
      }
      return env.read(atom.tensor, at);
    }
  }
}
