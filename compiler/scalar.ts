/**
 * The meaning of every element-wise function and operator on real numbers, in JavaScript. The
 * CPU interpreter and run-time binding (param defaults) both use these; the WGSL prelude
 * implements the same definitions (`backends/wgsl/prelude.ts`), and the tests compare the two.
 */
import type { ArithmeticOp, CompareOp, ElementwiseFn } from './ir.ts';

export function applyFunction(fn: ElementwiseFn, a: number, b = 0): number {
  switch (fn) {
    case 'exp':
      return Math.exp(a);
    case 'log':
      return Math.log(a);
    case 'sqrt':
      return Math.sqrt(a);
    case 'rsqrt':
      return 1 / Math.sqrt(a);
    case 'tanh':
      return Math.tanh(a);
    case 'sigmoid':
      return 1 / (1 + Math.exp(-a));
    case 'softplus':
      // log(1 + e^a) without overflow: max(a, 0) + log1p(e^-|a|).
      return Math.max(a, 0) + Math.log1p(Math.exp(-Math.abs(a)));
    case 'relu':
      return Math.max(a, 0);
    case 'abs':
      return Math.abs(a);
    case 'sign':
      return a > 0 ? 1 : a < 0 ? -1 : 0;
    case 'min':
      return Math.min(a, b);
    case 'max':
      return Math.max(a, b);
    case 'pow':
      return Math.pow(a, b);
  }
}

export function applyArithmetic(op: ArithmeticOp, a: number, b: number): number {
  switch (op) {
    case '+':
      return a + b;
    case '-':
      return a - b;
    case '*':
      return a * b;
    case '/':
      return a / b;
  }
}

export function applyCompare(op: CompareOp, a: number, b: number): boolean {
  switch (op) {
    case '==':
      return a === b;
    case '!=':
      return a !== b;
    case '<':
      return a < b;
    case '<=':
      return a <= b;
    case '>':
      return a > b;
    case '>=':
      return a >= b;
  }
}
