/**
 * The finals of a fused group (`compiler/passes/fused-group.ts`): statements that read the final
 * running maximum and sum, such as attn_stats' log-sum-exp
 * `LSE = select(rsum[.., M1] > 0, rmax[.., M1] + log(rsum[.., M1]), -inf)`. They are evaluated
 * once per row where those values exist, so the running values never need a buffer: in the
 * fused kernel's epilogue when the row's keys were not split (`lower-fused-data.ts`), else in
 * the split-KV merge kernel (`lower-merge.ts`). fused-plan.ts checked that they are
 * element-wise over the rows and read nothing else of the group.
 */
import type { TensorName } from '../../compiler/ir.ts';
import type { FusedStatic } from './fused-plan.ts';
import { storeOutput, type KernelContext, type TensorEnv } from './fused-scope.ts';
import { Block, lowerExpr } from './lower-expr.ts';
import type { KExpr, Storage } from './plan.ts';

/** The buffers the finals write: extra read_write bindings of the kernel that computes them. */
export function finalBindings(
  env: TensorEnv,
  fs: FusedStatic,
): { tensor: TensorName; storage: Storage }[] {
  return fs.group.finals.map((s) => ({ tensor: s.target, storage: env.storages.get(s.target)! }));
}

/**
 * Stores every final at the row bound in `scope`, given the row's final running maximum (−∞
 * when the row saw no key, as the recurrence's init) and sum.
 */
export function storeFinals(
  scope: KernelContext,
  b: Block,
  fs: FusedStatic,
  finalMax: KExpr,
  finalSum: KExpr,
): void {
  const sm = fs.group.softmax;
  if (!sm) return;
  for (const s of fs.group.finals) {
    scope.redirects.set(sm.rmax.target, () => ({ value: finalMax, ok: null }));
    scope.redirects.set(sm.rsum.target, () => ({ value: finalSum, ok: null }));
    storeOutput(b, lowerExpr(s.body, b), s.target, s.indices);
  }
}
