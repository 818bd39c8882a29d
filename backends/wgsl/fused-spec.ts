/**
 * Specialisation of a fused kernel, chosen when the kernel runs: the bound extents and the
 * device limits decide how many rows a workgroup serves, how many keys it stages at a time, and
 * how far the key range is split. Pure: no device, no WGSL.
 *
 * The WGSL of a fused kernel is generated per specialisation (and cached per value): the head
 * dimensions (each contraction's reduced extent `E`, the value's `F`) size the registers that
 * hold a query row's hoisted factors and its accumulator, and register arrays need constant sizes in WGSL, with constant indices
 * to stay in registers (a dynamically indexed private array becomes slow memory on llvmpipe).
 * Everything else (the query and key extents, params, the split count) stays a uniform, so a
 * decode loop whose key extent grows reuses one pipeline.
 *
 * Workgroup memory holds, for the keys of one chunk: the staged key factors (chunk × ΣE: a key's
 * row holds every contraction's factors side by side) and the values (chunk × F), unless the
 * chunk is staged in registers shared by subgroup broadcasts (`staging`). The prologue
 * carries one contraction's hoisted factors at a time through the first, a row per invocation
 * (invocations × the widest E), and the epilogue an accumulator row per invocation through the
 * second (invocations × F).
 */
import { extentName } from '../../compiler/ir.ts';
import type { FusedStatic } from './fused-plan.ts';

export interface FusedSpec {
  /** Rows per workgroup: `groupSize × queryTile`. */
  readonly rows: number;
  /** Query heads sharing a key/value head served together (1 without `group`). */
  readonly groupSize: number;
  readonly queryTile: number;
  /** Rows per invocation (register blocking: each staged load feeds that many rows). */
  readonly perInvocation: number;
  readonly invocations: number;
  /** Keys staged per chunk; the kernel unrolls them (see UNROLLED_KEYS). */
  readonly chunk: number;
  /**
   * Each contraction's reduced extent `E` (`FusedStatic.contractions` order) and the value's
   * feature count `F`, each rounded up to a multiple of 4: registers and staged tiles are
   * `vec4<f32>`, the padding holds zeros, and extents that round alike share one specialisation.
   */
  readonly reduced: readonly number[];
  readonly featureCount: number;
  /**
   * Where a chunk's keys are staged for the rows: `workgroup` memory (a barrier before and after
   * the chunk's math), or `subgroup`: each invocation loads a share of the chunk into registers
   * and every read is a `subgroupBroadcast` from the lane that holds it, with no barrier. Only
   * when the workgroup is one subgroup (see `subgroupStaging`).
   */
  readonly staging: 'workgroup' | 'subgroup';
  /**
   * Per staged tile (each contraction's key factors, then the values): staged as whole vec4s,
   * one load through an `array<vec4<f32>>` view of the input's buffer, rather than 4 scalar
   * loads. Where the tile reads an input plainly and its extents are multiples of 4
   * (`FusedStatic.vectorAxes`), so every vec4 is aligned and wholly present or wholly padding.
   */
  readonly vectorLoads: readonly boolean[];
}

export interface Limits {
  readonly maxComputeWorkgroupStorageSize: number;
  readonly maxComputeInvocationsPerWorkgroup: number;
  /**
   * A CPU rasteriser (`adapterInfo.architecture === 'software'`: llvmpipe/lavapipe, SwiftShader)
   * runs a workgroup's invocations as SIMD lanes of one thread; see SOFTWARE_ROWS_PER_INVOCATION.
   */
  readonly software?: boolean;
  /**
   * The subgroup size, when the device has the `subgroups` feature and one fixed size
   * (`adapterInfo.subgroupMinSize === subgroupMaxSize`: 8 on llvmpipe with AVX2).
   */
  readonly subgroupSize?: number;
}

/** Rows a workgroup aims for: enough to reuse each staged key for many rows. */
const TARGET_ROWS = 64;
/**
 * Two rows per invocation between these `ΣE + F`: below, the staged loads are few anyway; above,
 * one row keeps the generated code (and llvmpipe's compile time, which grows with the number
 * of memory accesses in the code) small.
 */
const BLOCKING_MIN = 64;
const BLOCKING_LIMIT = 256;
/**
 * On a software device with head sizes of 64, rows per invocation: as many as leave one SIMD
 * batch of invocations (8 lanes), up to 8 rows each: each staged key or value vec4 (a broadcast
 * load on llvmpipe) then feeds 8 rows per lane. Measured on lavapipe with hand-written variants
 * of the one-sweep kernel (mha, H = 8, D = 64, L = S = 1024, best of 3): 1 row × 64 invocations
 * 944 ms, 4 × 16 521 ms, 8 × 16 182 ms, 8 × 8 ~190 ms (the two-pass kernel before it: 360 ms at
 * 4 rows). A GPU wants many invocations instead, so this applies to software devices only.
 */
const SOFTWARE_ROWS_PER_INVOCATION = 8;
/** Only from `ΣE + F` of 128 (head sizes of 64): smaller heads keep the quick compile. */
const SOFTWARE_BLOCKING_MIN = 128;
const SIMD_LANES = 8;

/**
 * Rows a workgroup has even when fewer queries exist (a decode step has one per head): the
 * staging loops stride over the invocations, and with one invocation a workgroup would load
 * every key and value alone. 8 is llvmpipe's SIMD width (AVX2 lanes of f32), so on the software
 * device the empty rows cost nothing in the per-key math; on a GPU they fill part of a warp.
 */
const MIN_ROWS = 8;

/**
 * Keys per chunk, unrolled in the kernel: small, because the unrolled code grows with keys ×
 * rows per invocation × head size, and llvmpipe's compile time with it. On lavapipe 4 keys per
 * chunk ran as fast as 8 (182 vs 194 ms above) and staging 32 keys per barrier with a loop over
 * groups of 4 was slower (the loop's workgroup reads are gathers again). A GPU pays a barrier
 * per chunk, so it gets 8 (not measured on hardware here).
 */
const UNROLLED_KEYS = { software: 4, gpu: 8 };

/**
 * Subgroup staging (FusedSpec.staging) where a workgroup is exactly one subgroup of a fixed
 * size, on software devices. There llvmpipe's workgroup staging costs a per-lane scatter to store
 * and a barrier (a coroutine switch) per chunk; registers and broadcasts cost neither. Measured
 * on lavapipe with hand-written variants (mha, H = 8, D = 64, L = S = 1024, 8 rows × 8
 * invocations, 4 keys per chunk, best of 3): 250 ms with workgroup staging, 113 ms with
 * subgroup staging. GPUs keep workgroup staging: not measured on one here.
 */
function subgroupStaging(invocations: number, limits: Limits): boolean {
  return !!limits.software && limits.subgroupSize === invocations;
}

const nextPow2 = (n: number) => 2 ** Math.ceil(Math.log2(Math.max(1, n)));

type Sizes = Omit<FusedSpec, 'chunk' | 'staging'>;

/** Where each contraction's staged factors start in a key's row of the staged keys, and its width. */
export function keyRow(s: Pick<FusedSpec, 'reduced'>): { offsets: number[]; width: number } {
  const offsets: number[] = [];
  let width = 0;
  for (const e of s.reduced) {
    offsets.push(width);
    width += e;
  }
  return { offsets, width };
}

/**
 * Floats of the staged keys: a chunk of key rows (`chunk`: 0 when subgroup staging keeps the
 * chunk in registers), or a prologue's row per invocation.
 */
export function stagedKeysLength(s: Sizes, chunk: number): number {
  return Math.max(chunk * keyRow(s).width, s.invocations * Math.max(0, ...s.reduced));
}

/** Floats of the staged values: a chunk of them, or an epilogue's accumulator row per invocation. */
export function stagedValuesLength(s: Sizes, chunk: number): number {
  return Math.max(chunk, s.invocations) * s.featureCount;
}

export function workgroupBytes(s: Sizes, chunk: number): number {
  return 4 * (stagedKeysLength(s, chunk) + stagedValuesLength(s, chunk) + s.invocations);
}

/** Keys of a chunk that workgroup memory holds: none under subgroup staging. */
export function workgroupChunk(s: Pick<FusedSpec, 'chunk' | 'staging'>): number {
  return s.staging === 'workgroup' ? s.chunk : 0;
}

export function symbolOf(symbols: ReadonlyMap<string, number>, name: string): number {
  const v = symbols.get(name);
  if (v === undefined) throw new Error(`symbol ${name} is not bound`);
  return v;
}

/** The specialisation for these extents and limits, or why none fits (then the group runs unfused). */
export function chooseSpec(
  fs: FusedStatic,
  symbols: ReadonlyMap<string, number>,
  limits: Limits,
): FusedSpec | string {
  const ext = (i: string) => symbolOf(symbols, extentName(i));
  const pad4 = (n: number) => Math.ceil(n / 4) * 4;
  const reduced = fs.contractions.map((c) => pad4(ext(c.reduced)));
  // An axis the caller did not bind (the reference specialisation binds only the kernel's own
  // extents) loads element by element.
  const aligned = (axis: string | null, extent: number) =>
    axis !== null && (symbols.get(axis) ?? 1) % 4 === 0 && extent % 4 === 0;
  const features = fs.features.map(ext).reduce((a, x) => a * x, 1);
  const vectorLoads = [
    ...fs.contractions.map((c, k) => aligned(fs.vectorAxes[k], ext(c.reduced))),
    aligned(fs.vectorAxes[fs.contractions.length], features),
  ];
  const width = reduced.reduce((a, x) => a + x, 0);
  const featureCount = pad4(features);
  const g = fs.grouped ? (symbols.get(fs.grouped.by) ?? 1) : 1;
  const queries = ext(fs.query);
  const hint = Math.max(fs.queryTile, TARGET_ROWS);
  let groupSize = g >= 1 && g <= TARGET_ROWS ? g : 1;
  // At least MIN_ROWS rows even when the queries are fewer (a decode step): the rows past the
  // queries are invalid, as in a ragged last query tile.
  let queryTile = Math.max(
    Math.ceil(MIN_ROWS / groupSize),
    Math.min(nextPow2(queries), Math.floor(hint / groupSize)),
  );
  for (;;) {
    const rows = groupSize * queryTile;
    const blocked =
      rows >= 16 &&
      rows % 2 === 0 &&
      width + featureCount >= BLOCKING_MIN &&
      width + featureCount <= BLOCKING_LIMIT;
    const perInvocation = !blocked
      ? 1
      : limits.software && width + featureCount >= SOFTWARE_BLOCKING_MIN
        ? Math.max(2, Math.min(SOFTWARE_ROWS_PER_INVOCATION, Math.floor(rows / SIMD_LANES)))
        : 2;
    const invocations = rows / perInvocation;
    const base = {
      rows,
      groupSize,
      queryTile,
      perInvocation,
      invocations,
      reduced,
      featureCount,
      vectorLoads,
    };
    if (invocations <= limits.maxComputeInvocationsPerWorkgroup) {
      const unrolled = limits.software ? UNROLLED_KEYS.software : UNROLLED_KEYS.gpu;
      for (let chunk = Math.min(fs.keyTile, unrolled); ; chunk = Math.ceil(chunk / 2)) {
        if (workgroupBytes(base, chunk) <= limits.maxComputeWorkgroupStorageSize)
          return {
            ...base,
            chunk,
            staging: subgroupStaging(invocations, limits) ? 'subgroup' : 'workgroup',
          };
        if (chunk === 1) break;
      }
    }
    if (queryTile > 1) queryTile = Math.ceil(queryTile / 2);
    else if (groupSize > 1) groupSize = 1;
    else
      return `E = ${reduced.join(' + ') || 0}, F = ${featureCount}: one key and one row need more than the device's ${limits.maxComputeWorkgroupStorageSize} bytes of workgroup memory`;
  }
}

/**
 * What a tuning experiment (or a test) may set; the rest follows (rows, invocations). `staging:
 * 'subgroup'` without `perInvocation` sets as many rows per invocation as make one subgroup.
 */
export type SpecTuning = Partial<
  Pick<FusedSpec, 'queryTile' | 'perInvocation' | 'chunk' | 'staging'>
>;

/** `spec` with `tuning` applied, or why it does not fit the device. */
export function tuneSpec(
  fs: FusedStatic,
  spec: FusedSpec,
  tuning: SpecTuning,
  limits: Limits,
): FusedSpec | string {
  const queryTile = tuning.queryTile ?? spec.queryTile;
  const rows = spec.groupSize * queryTile;
  // Asked for subgroup staging alone: as many rows per invocation as make one subgroup.
  const perInvocation =
    tuning.perInvocation ??
    (tuning.staging === 'subgroup' && limits.subgroupSize
      ? Math.max(1, rows / limits.subgroupSize)
      : spec.perInvocation);
  if (!Number.isInteger(perInvocation) || rows % perInvocation !== 0)
    return `${rows} rows do not split into ${perInvocation} per invocation`;
  const invocations = rows / perInvocation;
  const sharable = limits.subgroupSize === invocations;
  if (tuning.staging === 'subgroup' && !sharable)
    return `subgroup staging needs ${invocations} invocations to be one subgroup`;
  const tuned: FusedSpec = {
    ...spec,
    queryTile,
    perInvocation,
    rows,
    invocations,
    chunk: Math.min(tuning.chunk ?? spec.chunk, fs.keyTile),
    staging: (tuning.staging ?? spec.staging) === 'subgroup' && sharable ? 'subgroup' : 'workgroup',
  };
  if (tuned.invocations > limits.maxComputeInvocationsPerWorkgroup) return 'too many invocations';
  if (workgroupBytes(tuned, tuned.chunk) > limits.maxComputeWorkgroupStorageSize)
    return 'too much workgroup memory';
  return tuned;
}

/** Workgroups of one split: fixed rows × head groups × query tiles. */
export function rowWorkgroups(
  fs: FusedStatic,
  spec: FusedSpec,
  symbols: ReadonlyMap<string, number>,
): number {
  const ext = (i: string) => symbolOf(symbols, extentName(i));
  let n = fs.fixed.reduce((a, i) => a * ext(i), 1);
  if (fs.grouped) n *= Math.ceil(ext(fs.grouped.index) / spec.groupSize);
  return n * Math.ceil(ext(fs.query) / spec.queryTile);
}

/** Workgroups that keep a device busy; fewer leave it idle during decode. */
const TARGET_WORKGROUPS = 64;
/** At most this many query rows per (batch, head group) make a run worth splitting. */
const FEW_ROWS = 16;

/**
 * How many parts the key tiles are split into (Flash-Decoding): only with `split m1`, few query
 * rows and many key tiles; enough workgroups to fill the device, each part at least two tiles.
 * `forced` (tests, benchmarks) overrides the heuristic within [1, tiles].
 */
export function chooseSplits(
  fs: FusedStatic,
  spec: FusedSpec,
  symbols: ReadonlyMap<string, number>,
  forced?: number,
): number {
  const tiles = symbolOf(symbols, extentName(fs.key[0]));
  if (!fs.split) return 1;
  if (forced !== undefined) return Math.max(1, Math.min(Math.floor(forced), tiles));
  const rowsPerGroup = symbolOf(symbols, extentName(fs.query)) * spec.groupSize;
  if (rowsPerGroup > FEW_ROWS || tiles < 4) return 1;
  const workgroups = rowWorkgroups(fs, spec, symbols);
  return Math.max(1, Math.min(Math.floor(tiles / 2), Math.ceil(TARGET_WORKGROUPS / workgroups)));
}
