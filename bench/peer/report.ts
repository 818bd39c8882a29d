/**
 * The peer benchmark's report: a Markdown table with the method behind it, and a hand-written
 * SVG bar chart of the ORT/attn ratios with each case's target marked.
 */

export interface Row {
  readonly id: string;
  readonly name: string;
  readonly shape: string;
  readonly attnMs: number | null;
  readonly ortMs: number | null;
  readonly gflops: number | null;
  readonly diff: number | null;
  readonly target: number | null;
  readonly ortOp: string;
  /** Programs each library dispatched in its last measured run. */
  readonly ortPrograms: string;
  readonly attnPrograms: string;
  /** Why a number is missing, or what went wrong. */
  readonly note: string;
}

export interface Meta {
  readonly device: string;
  readonly ortVersion: string;
  readonly runs: number;
  readonly warmup: number;
  readonly quick: boolean;
  readonly tolerance: number;
  /** Function-scope `var` declarations in ORT's shaders given an explicit zero value. */
  readonly rewrittenLocals: number;
}

export const ratio = (r: Row) => (r.attnMs && r.ortMs ? r.ortMs / r.attnMs : null);

const fixed = (x: number | null, digits = 1) => (x === null ? '—' : x.toFixed(digits));

function verdict(r: Row): string {
  const x = ratio(r);
  if (r.target === null) return 'no target';
  if (x === null) return 'not measured';
  return x >= r.target ? 'yes' : 'no';
}

export function markdown(rows: readonly Row[], meta: Meta): string {
  const lines = [
    `# attn vs ONNX Runtime Web (WebGPU EP)`,
    ``,
    `Device: ${meta.device}`,
    `Date: ${new Date().toISOString().slice(0, 10)}; onnxruntime-web ${meta.ortVersion}; median of ${meta.runs} runs after ${meta.warmup} warm-up per library.`,
    meta.quick ? `\n**--quick**: reduced shapes, not the issue's.` : '',
    ``,
    `![ORT/attn time ratio per case](peer-ort${meta.quick ? '-quick' : ''}.svg)`,
    ``,
    `## Method`,
    ``,
    `- One \`GPUDevice\` (Dawn, \`webgpu\` package) serves both: ORT's WebGPU EP is given attn's device and adapter.`,
    `- Same seeded inputs (uniform in [−1, 1)), B = 1, D = 64, f32. attn takes Q/K/V as [B, H, N, D]; ORT's attention ops take [B, N, H·D], so the host lays them out once, outside the timed region, and ORT's output is laid back for the comparison.`,
    `- Runs alternate (attn, ORT, attn, ORT, …), so load on the CPU (lavapipe runs there) falls on both libraries alike: the ratios are steadier than the times. Each timed run is the wall time of one \`kernel.run\` / \`session.run\` from host inputs to the output on the host: upload, every dispatch, read-back. ORT's present key/value outputs stay on the GPU (\`preferredOutputLocation: 'gpu-buffer'\`) because attn returns only O; ALiBi's bias is an ORT model constant, uploaded once when the session is created.`,
    `- Max abs diff compares the two outputs element by element; above ${meta.tolerance} the run fails.`,
    `- attn GFLOP/s counts 4·B·HQ·D per visible query/key pair (masks count only visible pairs).`,
    `- The programs columns are the compute pipelines each library set in its last measured run (ORT names its shader modules after its programs), which shows whether ORT took FlashAttention or its unfused path.`,
    ``,
    `## Running ORT here`,
    ``,
    `- ORT's WebGPU EP gets \`navigator.gpu\` (it refuses to start without one), attn's adapter (\`env.webgpu.adapter\`) and attn's device (\`executionProviders: [{ name: 'webgpu', device }]\`); one wasm thread.`,
    `- ORT's wasm heap is a \`SharedArrayBuffer\`, and Dawn-node's \`queue.writeBuffer\` rejects views over one, so the queue copies those uploads first (part of ORT's timed runs; attn's uploads are untouched).`,
    `- Dawn on lavapipe zero-initialises a function-scope \`var x: T;\` once per invocation rather than each time a loop body declares it, as WGSL requires. ORT's FlashAttention declares its score accumulators that way and is off by up to ~5e-2 here without help, so ORT's shaders (only ORT's) get the zero value spelled out: ${meta.rewrittenLocals} declarations in this run. The algorithm and its cost are unchanged.`,
    `- GroupQueryAttention's \`local_window_size\` in ORT's WebGPU EP counts the query's own key, as attn's \`window\` does. The decode case gives GQA a static KV cache of S positions (past_key/past_value with S − 1 filled, seqlens_k = S − 1, total_sequence_length = S) and the newest key/value as key/value. Fed from the host, the cache cannot share a buffer with present_key/present_value, so ORT's CopyKVCache fills those each run, as it does for MultiHeadAttention's present outputs, which its FlashAttention path requires.`,
    ``,
    `## Results`,
    ``,
    `| case | shape | attn ms | ORT ms | ORT/attn | target | attn GFLOP/s | max abs diff | note |`,
    `| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |`,
    ...rows.map(
      (r) =>
        `| (${r.id}) ${r.name} | ${r.shape} | ${fixed(r.attnMs)} | ${fixed(r.ortMs)} | ${ratio(r) === null ? '—' : `${fixed(ratio(r), 2)}×`} | ${r.target === null ? '—' : `≥ ${r.target}×`} | ${fixed(r.gflops, 2)} | ${r.diff === null ? '—' : r.diff.toExponential(1)} | ${r.note} |`,
    ),
    ``,
    `## Targets`,
    ``,
    `| case | ORT/attn | target | met |`,
    `| --- | ---: | ---: | --- |`,
    ...rows.map(
      (r) =>
        `| (${r.id}) ${r.name}, ${r.shape} | ${ratio(r) === null ? '—' : `${fixed(ratio(r), 2)}×`} | ${r.target === null ? '—' : `≥ ${r.target}×`} | ${verdict(r)} |`,
    ),
    ``,
    `## What ran`,
    ``,
    `| case | ORT graph | ORT programs | attn programs |`,
    `| --- | --- | --- | --- |`,
    ...rows.map(
      (r) =>
        `| (${r.id}) ${r.name}, ${r.shape} | ${r.ortOp} | ${r.ortPrograms} | ${r.attnPrograms} |`,
    ),
    ``,
  ];
  return lines.filter((l, i) => l !== '' || lines[i - 1] !== '').join('\n');
}

// ── Chart ────────────────────────────────────────────────────────────────────────────────

const escape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

const COLOURS = { met: '#3a9a4a', missed: '#d08a3a', none: '#4a7bd0' };

/**
 * Horizontal bars of ORT/attn per case on a log₂ axis, growing from parity (1×): right when attn
 * is faster, left when ORT is. A red tick marks each target.
 */
export function svgChart(rows: readonly Row[], title: string, subtitle: string): string {
  const labelWidth = 250;
  const plotWidth = 420;
  const barHeight = 28;
  const gap = 10;
  const top = 62;
  const axisY = top + rows.length * (barHeight + gap);
  const height = axisY + 64;
  const width = labelWidth + plotWidth + 70;
  const values = rows.flatMap((r) => [ratio(r) ?? 1, r.target ?? 1]);
  const lo = 2 ** Math.floor(Math.log2(Math.min(0.5, ...values)));
  const hi = 2 ** Math.ceil(Math.log2(Math.max(2, ...values) * 1.2));
  const x = (v: number) =>
    Math.round((labelWidth + (Math.log2(v / lo) / Math.log2(hi / lo)) * plotWidth) * 10) / 10;

  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${width / 2}" y="20" text-anchor="middle" font-size="14" font-weight="bold">${escape(title)}</text>`,
    `<text x="${width / 2}" y="38" text-anchor="middle" font-size="11" fill="#555">${escape(subtitle)}</text>`,
  ];
  for (let v = lo; v <= hi; v *= 2)
    parts.push(
      `<line x1="${x(v)}" y1="${top - 6}" x2="${x(v)}" y2="${axisY}" stroke="#eee"/>`,
      `<text x="${x(v)}" y="${axisY + 14}" text-anchor="middle" fill="#555">${v}×</text>`,
    );
  parts.push(
    `<line x1="${x(1)}" y1="${top - 6}" x2="${x(1)}" y2="${axisY}" stroke="#333" stroke-dasharray="4 3"/>`,
    `<text x="${labelWidth + plotWidth / 2}" y="${axisY + 32}" text-anchor="middle" fill="#333">ORT time / attn time, log scale (right of the dashed line: attn faster)</text>`,
  );
  const legend: [string, string][] = [
    [COLOURS.met, 'target met'],
    [COLOURS.missed, 'target missed'],
    [COLOURS.none, 'no target'],
  ];
  legend.forEach(([colour, text], i) => {
    const lx = labelWidth + i * 120;
    parts.push(
      `<rect x="${lx}" y="${axisY + 44}" width="12" height="12" fill="${colour}"/>`,
      `<text x="${lx + 16}" y="${axisY + 54}">${text}</text>`,
    );
  });
  const tx = labelWidth + 3 * 120;
  parts.push(
    `<line x1="${tx + 6}" y1="${axisY + 42}" x2="${tx + 6}" y2="${axisY + 58}" stroke="#c00" stroke-width="3"/>`,
    `<text x="${tx + 16}" y="${axisY + 54}">target</text>`,
  );

  rows.forEach((r, i) => {
    const y = top + i * (barHeight + gap);
    const value = ratio(r);
    const colour =
      r.target === null
        ? COLOURS.none
        : value !== null && value >= r.target
          ? COLOURS.met
          : COLOURS.missed;
    parts.push(
      `<text x="${labelWidth - 8}" y="${y + 11}" text-anchor="end">${escape(`(${r.id}) ${r.name}`)}</text>`,
      `<text x="${labelWidth - 8}" y="${y + 24}" text-anchor="end" font-size="10" fill="#666">${escape(r.shape)}</text>`,
    );
    // The value sits right of both the bar and the target tick, so neither hides it.
    const textX = Math.max(x(value ?? 1), x(1), x(r.target ?? 1)) + 5;
    parts.push(
      value === null
        ? `<text x="${textX}" y="${y + barHeight / 2 + 4}" fill="#a00">not measured</text>`
        : `<rect x="${Math.min(x(1), x(value))}" y="${y}" width="${Math.abs(x(value) - x(1))}" height="${barHeight}" fill="${colour}"/>\n` +
            `<text x="${textX}" y="${y + barHeight / 2 + 4}">${value.toFixed(2)}×</text>`,
    );
    if (r.target !== null)
      parts.push(
        `<line x1="${x(r.target)}" y1="${y - 3}" x2="${x(r.target)}" y2="${y + barHeight + 3}" stroke="#c00" stroke-width="3"/>`,
      );
  });
  parts.push(`</svg>`, ``);
  return parts.join('\n');
}
