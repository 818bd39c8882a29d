/**
 * Where a fused kernel stages a chunk's keys (fused-spec.ts `staging`): in workgroup memory
 * behind barriers, or in registers that the lanes of a one-subgroup workgroup share by
 * broadcast; and how it loads them (`vectorLoads`): whole vec4s through a vec4 view of an input
 * it reads plainly, or element by element. The choices, the tuning override, and the kernels
 * they produce; every block's results with both are checked on Dawn in fused-specs.test.ts and
 * fused-blocking.test.ts, and a few here.
 */
import { describe, expect, it } from 'vitest';
import { chooseSpec, tuneSpec, type Limits } from '../../../backends/wgsl/fused-spec.ts';
import type { KStmt } from '../../../backends/wgsl/plan.ts';
import { getTestDevice } from '../../helpers/gpu.ts';
import { compile, type CompiledSpec } from '../../../index.ts';
import { compareWithInterpreter, compileBlock, extentsOf, inputsOf } from './fused-harness.ts';

const WORKGROUP = { maxComputeWorkgroupStorageSize: 32768, maxComputeInvocationsPerWorkgroup: 256 };
const LAVAPIPE: Limits = { ...WORKGROUP, software: true, subgroupSize: 8 };

const mha = compileBlock({ file: 'stdlib/mha.attn', name: 'mha' }, { extentHints: { D: 64 } });
const fused = mha.wgsl.fused[0];
const symbols = extentsOf(mha.scheduled, { B: 1, H: 8, P: 1024, M: 1024, E: 64, F: 64 });

function specFor(limits: Limits) {
  const spec = chooseSpec(fused.static, symbols, limits);
  if (typeof spec === 'string') throw new Error(spec);
  return spec;
}

/** The statements of the loop over a tile's chunks (`for (var ck ...)`). */
function chunkLoop(body: readonly KStmt[]): readonly KStmt[] {
  for (const s of body) {
    if (s.kind === 'for' && s.index === 'ck') return s.body;
    const inner =
      s.kind === 'for'
        ? chunkLoop(s.body)
        : s.kind === 'if'
          ? chunkLoop([...s.then, ...s.else])
          : [];
    if (inner.length > 0) return inner;
  }
  return [];
}

describe('staging of a chunk of keys', () => {
  it('a software device with one subgroup per workgroup stages in registers', () => {
    const spec = specFor(LAVAPIPE);
    expect([spec.invocations, spec.staging]).toEqual([8, 'subgroup']);
  });

  it.each([
    ['a subgroup size other than the invocations', { ...LAVAPIPE, subgroupSize: 16 }],
    ['no subgroups', { ...WORKGROUP, software: true }],
    ['a GPU (not measured here)', { ...WORKGROUP, subgroupSize: 8 }],
  ])('%s: workgroup memory', (_label, limits) => {
    expect(specFor(limits).staging).toBe('workgroup');
  });

  it('subgroup staging: no barrier per chunk, broadcasts, and no chunk in workgroup memory', () => {
    const sub = fused.specialize(specFor(LAVAPIPE));
    const shared = fused.specialize({ ...specFor(LAVAPIPE), staging: 'workgroup' });
    const barriers = (body: readonly KStmt[]) =>
      body.filter((s) => s.kind === 'workgroupBarrier').length;
    expect(barriers(chunkLoop(sub.plan.body))).toBe(0);
    expect(barriers(chunkLoop(shared.plan.body))).toBe(2);
    expect(sub.wgsl).toMatch(/^enable subgroups;$/m);
    expect(sub.wgsl).toContain('subgroupBroadcast(');
    expect(shared.wgsl).not.toContain('subgroup');
    // Workgroup memory keeps only the prologue's and epilogue's row per invocation (8 × 64 floats
    // each, and the sums): the 4-key chunk is not there.
    const floats = (p: typeof sub) =>
      (p.plan.workgroupArrays ?? []).map((a) => [a.name, a.length * (a.element === 'f32' ? 1 : 4)]);
    expect(floats(sub)).toEqual([
      ['wg_k', 512],
      ['wg_v', 512],
      ['wg_l', 8],
    ]);
  });

  it('tuning: subgroup staging sets the rows per invocation, or says why it cannot', () => {
    const gpuSpec = specFor({ ...WORKGROUP, subgroupSize: 32 });
    const tuned = tuneSpec(
      fused.static,
      gpuSpec,
      { staging: 'subgroup' },
      {
        ...WORKGROUP,
        subgroupSize: 32,
      },
    );
    if (typeof tuned === 'string') throw new Error(tuned);
    expect([tuned.invocations, tuned.perInvocation, tuned.staging]).toEqual([32, 2, 'subgroup']);
    expect(tuneSpec(fused.static, gpuSpec, { staging: 'subgroup' }, WORKGROUP)).toMatch(
      /subgroup staging needs/,
    );
    expect(
      tuneSpec(fused.static, gpuSpec, { staging: 'subgroup', perInvocation: 4 }, LAVAPIPE),
    ).toMatch(/16 invocations/);
  });
});

describe('vec4 loads of the staged tiles', () => {
  it('mha at head sizes of 64: both tiles, through vec4 views of K and V only', () => {
    const spec = specFor(LAVAPIPE);
    expect(spec.vectorLoads).toEqual([true, true]);
    const kernel = fused.specialize(spec);
    const views = kernel.plan.bindings.filter((b) => b.view === 'vec4').map((b) => b.tensor);
    expect(views).toEqual(['K', 'V']);
    expect(kernel.wgsl).toMatch(/var<storage, read> t_K_v4: array<vec4<f32>>;/);
  });

  it.each([
    [{ E: 62, F: 64 }, [false, true]],
    [{ E: 64, F: 30 }, [true, false]],
  ])('an extent that is no multiple of 4 (%o) loads that tile element by element', (ext, want) => {
    const s = extentsOf(mha.scheduled, { B: 1, H: 8, P: 64, M: 64, ...ext });
    const spec = chooseSpec(fused.static, s, LAVAPIPE);
    if (typeof spec === 'string') throw new Error(spec);
    expect(spec.vectorLoads).toEqual(want);
  });

  it('MLA: a tile per contraction; a literal value (attn_stats ACC): none', () => {
    const mla = compileBlock({ file: 'stdlib/mla.attn', name: 'mla_latent' });
    // Logits QA·CKV over r and QR·KR over d; the latent CKV[b, m, r] is the value too.
    expect(mla.wgsl.fused[0].static.vectorAxes).toEqual(['R', 'D', 'R']);
    const stats = compileBlock({ file: 'stdlib/attn_stats.attn', name: 'attn_stats' });
    expect(stats.wgsl.fused.map((f) => f.static.vectorAxes.at(-1))).toEqual(['F', null]);
  });

  it.each<{ file: string; name: string; ext: Record<string, number> }>([
    {
      file: 'stdlib/gqa.attn',
      name: 'gqa',
      ext: { B: 1, HQ: 4, HK: 2, P: 19, M: 23, E: 8, F: 12 },
    },
    { file: 'stdlib/mla.attn', name: 'mla_latent', ext: { H: 3, P: 11, M: 45, R: 12, D: 8 } },
  ])('$name on Dawn with vec4 loads, both stagings', { timeout: 300_000 }, async (block) => {
    const device = await getTestDevice();
    const spec = compileBlock(block);
    const symbols = extentsOf(spec.program, block.ext);
    for (const staging of ['workgroup', 'subgroup'] as const) {
      const r = await compareWithInterpreter(spec, inputsOf(spec.program, symbols, 9), {
        device,
        params: spec.program.params.some((p) => p.name === 'causal') ? { causal: true } : {},
        tune: { staging },
      });
      expect(r.fused[0].spec).toMatchObject({ staging });
      expect(r.fused[0].spec!.vectorLoads.every((x) => x)).toBe(true);
    }
  });
});

describe('chunks that no row sees', () => {
  /** The first statement of the chunk loop if it is a skip (`if (..) { continue; }`). */
  const skipOf = (spec: CompiledSpec, extents: Record<string, number>) => {
    const chosen = chooseSpec(
      spec.wgsl.fused[0].static,
      extentsOf(spec.scheduled, extents),
      LAVAPIPE,
    );
    if (typeof chosen === 'string') throw new Error(chosen);
    const body = chunkLoop(spec.wgsl.fused[0].specialize(chosen).plan.body);
    const test = body.find((s) => s.kind === 'if');
    return test?.kind === 'if' && test.then.some((s) => s.kind === 'continue') ? test : null;
  };

  it('a causal mask on the logits skips a chunk before it is staged', () => {
    const gqa = compileBlock({ file: 'stdlib/gqa.attn', name: 'gqa' }, { extentHints: { D: 64 } });
    const test = skipOf(gqa, { B: 1, HQ: 8, HK: 2, P: 64, M: 64, E: 64, F: 64 });
    // Past the key bound, or (the chain's mask `S ... where !causal || m <= p + M - P`) past
    // the diagonal for every row: two reasons.
    expect(test?.cond).toMatchObject({ kind: 'binary', op: '||' });
  });

  it(
    'a mask the weights see past (a select) skips nothing: on Dawn against the interpreter',
    {
      timeout: 300_000,
    },
    async () => {
      // Past the diagonal S is absent, but T is 0 there, not absent: those keys count.
      const text = `attention masked_select {
  input Q[b, h, p, e]
  input K[b, h, m, e]
  input V[b, h, m, f]
  param causal: bool = true
  S[b, h, p, m] = Q[b, h, p, e] * K[b, h, m, e]   where !causal || m <= p
  T[b, h, p, m] = select(m <= p, S[b, h, p, m], 0)
  A[b, h, p, m] = softmax[m](T[b, h, p, m])
  O[b, h, p, f] = A[b, h, p, m] * V[b, h, m, f]
  output O
}
`;
      const r = compile(text, { fileName: 'masked_select.attn', attention: 'masked_select' });
      if (!r.ok) throw new Error(r.diagnostics.map((d) => d.message).join('; '));
      const spec = r.specs[0];
      // Only the key bound: a single comparison.
      const skip = skipOf(spec, { B: 1, H: 2, P: 64, M: 64, E: 64, F: 64 });
      expect(skip?.cond).toMatchObject({ kind: 'binary', op: '>=' });
      const symbols = extentsOf(spec.program, { B: 1, H: 2, P: 70, M: 70, E: 8, F: 8 });
      const run = await compareWithInterpreter(spec, inputsOf(spec.program, symbols, 11), {
        params: { causal: true },
      });
      expect(run.fused[0].mode).toBe('fused');
    },
  );
});
