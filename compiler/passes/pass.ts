/**
 * The pass interface. A pass is a pure IR → IR rewrite with a name, a one-line summary, a cheap
 * precondition check (`applies`) and the rewrite itself (`run`). `run` returns its input object
 * when nothing changed, never throws on user input, and may only be called when `applies` said
 * yes. A pass that declines says why; `attnc explain` prints the reasons.
 */
import type { Span } from '../diagnostics/source.ts';
import type { IndexName, Program } from '../ir.ts';

export type PassName =
  'recompute' | 'tile' | 'fuse' | 'block-sparsity' | 'head-grouping' | 'split-kv';

/** The device limits tile sizes are chosen from (a subset of `GPUSupportedLimits`). */
export interface DeviceLimits {
  readonly maxComputeWorkgroupStorageSize: number;
  readonly maxComputeInvocationsPerWorkgroup: number;
}

/** WebGPU's guaranteed minimums: what every device offers, so the default fits anywhere. */
export const DEFAULT_LIMITS: DeviceLimits = {
  maxComputeWorkgroupStorageSize: 16384,
  maxComputeInvocationsPerWorkgroup: 256,
};

export interface PassContext {
  readonly limits: DeviceLimits;
  /**
   * Expected extents (`{ E: 64, F: 64 }`), when the caller knows them: tile sizes are chosen
   * for these. Extents are run-time values, so this is a hint, never a promise.
   */
  readonly extentHints: Readonly<Record<string, number>>;
  /** Tile sizes asked for on the command line or by the API; they win over the schedule block. */
  readonly tileOverrides: Readonly<Record<string, number>>;
}

export type Applicability =
  | { readonly applies: true; readonly because?: string }
  | { readonly applies: false; readonly reason: string; readonly at?: Span };

export interface Pass {
  readonly name: PassName;
  readonly summary: string;
  applies(program: Program, ctx: PassContext): Applicability;
  run(program: Program, ctx: PassContext): Program;
}

export const yes = (because?: string): Applicability => ({
  applies: true,
  ...(because ? { because } : {}),
});
export const no = (reason: string, at?: Span): Applicability => ({
  applies: false,
  reason,
  ...(at ? { at } : {}),
});

/** A fresh name for a new index: `base`, else `base_2`, `base_3`, ... */
export function freshName(taken: ReadonlySet<string>, base: string): string {
  if (!taken.has(base)) return base;
  for (let i = 2; ; i++) if (!taken.has(`${base}_${i}`)) return `${base}_${i}`;
}

/** Every name a program uses: tensors, params, consts, indices and their extents. */
export function namesOf(p: Program): Set<string> {
  return new Set<string>([
    ...p.inputs.map((i) => i.name as string),
    ...p.params.map((x) => x.name),
    ...p.consts.map((c) => c.name),
    ...p.indices.flatMap((i) => [i.name as string, i.extent]),
    ...p.body.map((s) => s.target as string),
  ]);
}

export const asIndex = (name: string) => name as IndexName;
