/**
 * What one run dispatches, in order, once the extents are bound: the manifest's kernels, with
 * each fused group's attention kernel specialised for these extents and this device
 * (`fused-spec.ts`), its split count chosen, and its merge kernel kept only when the run splits.
 * A group no specialisation fits runs its fallback kernels (its statements unfused) instead.
 * Pure: no device calls.
 */
import type { Binding } from '../../compiler/bind.ts';
import type { CompiledKernel, CompiledWgsl } from './compile.ts';
import {
  chooseSpec,
  chooseSplits,
  rowWorkgroups,
  tuneSpec,
  type FusedSpec,
  type Limits,
  type SpecTuning,
} from './fused-spec.ts';
import { fusedNames } from './fused-scope.ts';
import type { ManifestBuffer, ManifestKernel } from './manifest.ts';
import { evaluateFormula } from './runtime-data.ts';

export interface PlannedDispatch {
  readonly kernel: CompiledKernel;
  readonly manifest: ManifestKernel;
  /** Total workgroups (the runtime lays them out in 1-D or 2-D). */
  readonly workgroups: number;
}

/** How a fused group ran: fused (with its specialisation and split count) or unfused, and why. */
export interface FusedRunInfo {
  readonly output: string;
  readonly mode: 'fused' | 'unfused';
  readonly spec: FusedSpec | null;
  readonly splits: number;
  readonly reason?: string;
}

export interface RunPlan {
  readonly dispatches: readonly PlannedDispatch[];
  /** The buffers to allocate: the manifest's, plus the fallback buffers of unfused groups. */
  readonly buffers: readonly ManifestBuffer[];
  /** The binding, its symbols extended with each group's split count and partial size. */
  readonly binding: Binding;
  readonly fused: readonly FusedRunInfo[];
}

export interface RunChoices {
  /** Split count for every fused group that allows splitting (tests, benchmarks). */
  readonly splits?: number;
  /** Overrides of the chosen specialisation (tuning experiments; see `tuneSpec`). */
  readonly tune?: SpecTuning;
}

export function planRun(
  compiled: CompiledWgsl,
  binding: Binding,
  limits: Limits,
  choices: RunChoices = {},
): RunPlan {
  const { manifest } = compiled;
  const symbols = new Map(binding.symbols);
  const fused: FusedRunInfo[] = [];
  const byAttention = new Map<number, { spec: FusedSpec | string; splits: number }>();
  const buffers: ManifestBuffer[] = [...manifest.buffers];
  for (const f of compiled.fused) {
    const names = fusedNames(f.static.output);
    const chosen = chooseSpec(f.static, binding.symbols, limits);
    const spec =
      choices.tune && typeof chosen !== 'string'
        ? tuneSpec(f.static, chosen, choices.tune, limits)
        : chosen;
    const splits =
      typeof spec === 'string' ? 1 : chooseSplits(f.static, spec, binding.symbols, choices.splits);
    symbols.set(names.splitSymbol, splits);
    symbols.set(names.partsSymbol, splits > 1 ? splits : 0);
    byAttention.set(f.attention, { spec, splits });
    if (typeof spec === 'string') {
      fused.push({ output: f.static.output, mode: 'unfused', spec: null, splits: 1, reason: spec });
      buffers.push(
        ...(manifest.fallbacks.find((x) => x.output === f.static.output)?.buffers ?? []),
      );
    } else fused.push({ output: f.static.output, mode: 'fused', spec, splits });
  }
  const extended: Binding = { ...binding, symbols };
  const dispatches: PlannedDispatch[] = [];
  manifest.kernels.forEach((k, i) => {
    const plain = () => ({
      kernel: compiled.kernels[i],
      manifest: k,
      workgroups: evaluateFormula(k.dispatch.workgroups, extended),
    });
    if (!k.fused) {
      dispatches.push(plain());
      return;
    }
    const f = compiled.fused.find((x) => x.static.output === k.fused!.output)!;
    const choice = byAttention.get(f.attention)!;
    if (k.fused.role === 'merge') {
      if (typeof choice.spec !== 'string' && choice.splits > 1) dispatches.push(plain());
      return;
    }
    if (typeof choice.spec === 'string') {
      const fallback = manifest.fallbacks.find((x) => x.output === f.static.output)!;
      fallback.kernels.forEach((fk, j) =>
        dispatches.push({
          kernel: f.fallback[j],
          manifest: fk,
          workgroups: evaluateFormula(fk.dispatch.workgroups, extended),
        }),
      );
      return;
    }
    dispatches.push({
      kernel: f.specialize(choice.spec),
      manifest: k,
      workgroups: rowWorkgroups(f.static, choice.spec, binding.symbols) * choice.splits,
    });
  });
  return { dispatches, buffers, binding: extended, fused };
}
