/**
 * Random small, well-formed IR programs for differential tests: random subscripts with offsets,
 * floor division, modulo, min/max, products and gathers; filters; selects; reductions;
 * recurrences; boolean intermediates. Seeded: a seed names a program.
 */
import type { Affine, CompareOp, ElementwiseFn, Expr, Statement } from '../../compiler/ir.ts';
import { tensor, type HostTensor } from '../../compiler/tensor.ts';
import * as B from './ir-build.ts';
import { createRng, type Rng } from './rng.ts';

const A = B.A;
const INDICES = ['i', 'j', 'k'] as const;

interface Known {
  readonly name: string;
  readonly indices: readonly string[];
  readonly kind: 'real' | 'bool';
}

class Generator {
  readonly known: Known[] = [
    { name: 'X', indices: ['i', 'j'], kind: 'real' },
    { name: 'Y', indices: ['j', 'k'], kind: 'real' },
    { name: 'Mk', indices: ['i', 'k'], kind: 'bool' },
  ];
  constructor(readonly rng: Rng) {}

  pick<T>(xs: readonly T[]): T {
    return xs[this.rng.int(0, xs.length - 1)];
  }
  chance(p: number): boolean {
    return this.rng.next() < p;
  }

  affine(bound: readonly string[], depth = 0): Affine {
    const c = () => A.constant(this.rng.int(-1, 2));
    if (bound.length === 0) return this.chance(0.5) ? c() : A.sub(A.symbol('J'), A.constant(1));
    const x = () => A.index(this.pick(bound));
    const shifted = () => A.add(x(), c());
    const choices: (() => Affine)[] = [
      x,
      x,
      shifted,
      c,
      () => A.floorDiv(shifted(), A.constant(this.rng.int(2, 3))),
      () => A.mod(shifted(), this.chance(0.5) ? A.constant(this.rng.int(2, 3)) : A.symbol('K')),
      () => A.floorDiv(x(), A.symbol('I')),
      () => (this.chance(0.5) ? A.min : A.max)([shifted(), c()]),
      () => A.mul(x(), x()),
      () => A.sub(A.symbol('J'), A.add(x(), A.constant(1))),
    ];
    if (depth === 0) choices.push(() => A.read('Ix', [this.affine(bound, 1)]));
    return this.pick(choices)();
  }

  read(kind: 'real' | 'bool', bound: readonly string[]): Expr | null {
    const candidates = this.known.filter((t) => t.kind === kind);
    if (candidates.length === 0) return null;
    const t = this.pick(candidates);
    return B.read(t.name, ...t.indices.map(() => this.affine(bound)));
  }

  real(depth: number, bound: readonly string[]): Expr {
    if (depth <= 0 || this.chance(0.3)) {
      const leaf = this.rng.int(0, 3);
      if (leaf === 0) return B.lit(this.pick([-2, -0.5, 0, 1.5, 3]));
      if (leaf === 1 && bound.length > 0) return B.int(this.affine(bound));
      return this.read('real', bound) ?? B.lit(1);
    }
    const d = depth - 1;
    switch (this.rng.int(0, 4)) {
      case 0:
        return B.neg(this.real(d, bound));
      case 1:
        return B.arith(
          this.pick(['+', '-', '*', '/'] as const),
          this.real(d, bound),
          this.real(d, bound),
        );
      case 2: {
        const fn = this.pick<ElementwiseFn>([
          'exp',
          'tanh',
          'abs',
          'sigmoid',
          'relu',
          'max',
          'min',
        ]);
        const arity = fn === 'max' || fn === 'min' ? 2 : 1;
        return B.call(fn, ...Array.from({ length: arity }, () => this.real(d, bound)));
      }
      default:
        return B.select(this.bool(d, bound), this.real(d, bound), this.real(d, bound));
    }
  }

  bool(depth: number, bound: readonly string[]): Expr {
    const op = () => this.pick<CompareOp>(['<', '<=', '==', '!=', '>', '>=']);
    if (depth <= 0 || this.chance(0.4)) {
      const leaf = this.rng.int(0, 2);
      if (leaf === 0) return B.icmp(op(), this.affine(bound), this.affine(bound));
      if (leaf === 1) return this.read('bool', bound) ?? B.bool(true);
      return B.cmp(op(), this.real(0, bound), this.real(0, bound));
    }
    if (this.chance(0.3)) return B.not(this.bool(depth - 1, bound));
    return (this.chance(0.5) ? B.and : B.or)(
      this.bool(depth - 1, bound),
      this.bool(depth - 1, bound),
    );
  }

  statement(n: number): Statement {
    const name = `T${n}`;
    const lhs = INDICES.filter(() => this.chance(0.6)).sort(() => this.rng.next() - 0.5);
    const rest = INDICES.filter((x) => !lhs.includes(x));
    const over = rest.filter(() => this.chance(0.5));
    const reduce =
      over.length > 0 && this.chance(0.7) ? this.pick(['sum', 'max', 'min'] as const) : undefined;
    const bound = reduce ? [...lhs, ...over] : lhs;
    const filter = this.chance(0.5) ? { filter: this.bool(2, bound) } : {};
    const opts = reduce ? { reduce, over, ...filter } : filter;
    if (lhs.length > 0 && this.chance(0.25)) {
      const axis = this.rng.int(0, lhs.length - 1);
      const init = this.real(
        1,
        lhs.filter((_, a) => a !== axis),
      );
      // The update reads the recurrence only at the current step (E404), so the target joins
      // the readable tensors after its body is built.
      const self = B.read(name, ...lhs);
      const body = B.add(B.mul(B.lit(0.5), self), this.real(2, bound));
      this.known.push({ name, indices: lhs, kind: 'real' });
      return B.rec(name, lhs, axis, init, body, opts);
    }
    const kind = !reduce && this.chance(0.2) ? 'bool' : 'real';
    const body = kind === 'bool' ? this.bool(2, bound) : this.real(3, bound);
    this.known.push({ name, indices: lhs, kind });
    return B.eq(name, lhs, body, opts);
  }
}

export function randomCase(seed: number) {
  const rng = createRng(seed);
  const g = new Generator(rng);
  const [I, J, K] = [rng.int(1, 4), rng.int(1, 4), rng.int(1, 4)];
  const body = Array.from({ length: rng.int(1, 4) }, (_, n) => g.statement(n));
  const program = B.program({
    inputs: [
      B.input('X', ['i', 'j']),
      B.input('Y', ['j', 'k']),
      B.input('Mk', ['i', 'k'], 'bool'),
      B.input('Ix', ['k'], 'i32'),
    ],
    body,
    outputs: body.map((s) => s.target),
  });
  const inputs: Record<string, HostTensor> = {
    X: tensor('f32', [I, J], Float32Array.from(rng.randnArray(I * J))),
    Y: tensor('f32', [J, K], Float32Array.from(rng.randnArray(J * K))),
    Mk: tensor(
      'bool',
      [I, K],
      Uint8Array.from({ length: I * K }, () => rng.int(0, 1)),
    ),
    Ix: tensor(
      'i32',
      [K],
      Int32Array.from({ length: K }, () => rng.int(-1, J)),
    ),
  };
  return { program, inputs };
}
