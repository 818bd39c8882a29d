/**
 * The real executable, end to end: `node bin/attnc.js` as a child process. Each spawn costs
 * about a second of start-up (tsx, Chevrotain), so this file keeps to one spawn per behaviour
 * that needs a process (exit codes, stderr, files, a GPU); `commands.test.ts` does the rest
 * in-process. GPU cases use ATTN_WEBGPU_BACKEND like every GPU test, and never skip: without an
 * adapter attnc exits 69 and the assertion on the exit code fails.
 */
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Manifest } from '../../index.ts';
import { npy, readNpy, spawnAttnc, tempDir } from './harness.ts';

const T = { timeout: 60_000 };

describe('attnc executable', () => {
  it('prints the command list with --help and exits 0', T, async () => {
    const r = await spawnAttnc(['--help']);
    expect(r.code).toBe(0);
    for (const name of ['compile', 'run', 'check', 'explain', 'bench', 'fmt'])
      expect(r.stdout).toMatch(new RegExp(`^  ${name} `, 'm'));
  });

  it(
    'reports a bad spec as file:line:col + caret on stderr, exit 2, no stack trace',
    T,
    async () => {
      const dir = await tempDir();
      const spec = join(dir, 'bad.attn');
      await writeFile(spec, 'attention bad {\n  input X[i]\n  O[i, g] = X[i]\n  output O\n}\n');
      const r = await spawnAttnc(['explain', spec]);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      const lines = r.stderr.split('\n');
      expect(lines[0]).toBe(
        `${spec}:3:8: error[E203]: index \`g\` on the left is not bound on the right`,
      );
      expect(lines.slice(1, 4)).toEqual(['  |', '3 |   O[i, g] = X[i]', '  |        ^']);
      expect(r.stderr).not.toMatch(/^\s+at /m);
    },
  );

  it(
    'compile writes one .wgsl per kernel whose @binding lines match manifest.json',
    T,
    async () => {
      const dir = await tempDir();
      const r = await spawnAttnc(['compile', 'examples/gqa_softcap.attn', '-o', dir]);
      expect(r.code).toBe(0);
      const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as Manifest;
      const files = (await readdir(dir)).sort();
      expect(files).toEqual([...manifest.kernels.map((k) => k.file), 'manifest.json'].sort());
      for (const kernel of manifest.kernels) {
        expect(r.stdout).toContain(join(dir, kernel.file));
        const wgsl = await readFile(join(dir, kernel.file), 'utf8');
        const declared = [
          ...wgsl.matchAll(
            /@group\((\d+)\) @binding\((\d+)\) var<([^>]+)> \w+: (?:array<(\w+|vec4<f32>)>|(\w+));/g,
          ),
        ].map((m) => ({
          group: Number(m[1]),
          binding: Number(m[2]),
          kind: m[3] === 'uniform' ? 'uniform' : 'storage',
          access: m[3] === 'storage, read_write' ? 'read_write' : 'read',
          elementType: m[4] ?? m[5],
        }));
        expect(declared).toEqual(
          kernel.bindings.map((b) => ({
            group: b.group,
            binding: b.binding,
            kind: b.kind,
            access: b.access,
            elementType: b.elementType,
          })),
        );
      }
    },
  );

  // C[i, j] = sum_k X[i, k] * W[k, j], written out by hand below. X is declared f16: a float16
  // file stays f16, a float32 file is rounded to half (these values are exact in half).
  const matmul =
    'attention mm {\n  input X[i, k]: f16\n  input W[k, j]\n  C[i, j] = X[i, k] * W[k, j]\n  output C\n}\n';
  const X = [1, 2, 3, 4, 5, 6]; // [2, 3]
  const W = [0.5, -1, 2, 0, 0.25, 3]; // [3, 2]
  const expected = [
    1 * 0.5 + 2 * 2 + 3 * 0.25,
    1 * -1 + 2 * 0 + 3 * 3,
    4 * 0.5 + 5 * 2 + 6 * 0.25,
    4 * -1 + 5 * 0 + 6 * 3,
  ];

  for (const [backend, xFile, outDtype] of [
    ['cpu', '<f4', 'f32'],
    ['webgpu', '<f2', 'f16'],
  ] as const) {
    it(
      `run round-trips .npy files on ${backend} (X in ${xFile}, C in ${outDtype})`,
      T,
      async () => {
        const dir = await tempDir();
        await writeFile(join(dir, 'mm.attn'), matmul);
        await writeFile(join(dir, 'x.npy'), npy(xFile, [2, 3], X));
        await writeFile(join(dir, 'w.npy'), npy('<f4', [3, 2], W));
        const out = join(dir, 'c.npy');
        const r = await spawnAttnc([
          'run',
          join(dir, 'mm.attn'),
          '--in',
          `X=${join(dir, 'x.npy')}`,
          '--in',
          `W=${join(dir, 'w.npy')}`,
          '--out',
          `C=${out}`,
          '--backend',
          backend,
          '--out-dtype',
          outDtype,
        ]);
        // Dawn prints notes about its limits as "Warning: ..." lines; nothing else may appear.
        expect(r.stderr.replace(/^Warning: .*\n/gm, '')).toBe('');
        expect(r.code).toBe(0);
        expect(r.stdout).toContain('in  X f16 [2, 3]');
        expect(r.stdout).toContain(`out C ${outDtype} [2, 2]`);
        const c = readNpy(await readFile(out));
        expect(c.descr).toBe(outDtype === 'f32' ? '<f4' : '<f2');
        expect(c.shape).toEqual([2, 2]);
        // Every product and sum here is exact in binary, and each result is exact in half too.
        expect(c.values).toEqual(expected);
      },
    );
  }

  it('check passes on examples/gqa_softcap.attn with small extents', T, async () => {
    const r = await spawnAttnc([
      'check',
      'examples/gqa_softcap.attn',
      '--dims',
      'b=1,hq=4,hk=2,p=5,m=7,e=8,f=3',
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^ {2}O \[1, 4, 5, 3\] +max abs \S+ +max scaled \S+ +PASS$/m);
    expect(r.stdout.trimEnd().split('\n').at(-1)).toBe('PASS');
  });

  it('check fails (exit 1) where float32 must differ from the float64 reference', T, async () => {
    // T = X + 2^24 is stored in float32 on the GPU, which keeps no fraction at that magnitude,
    // while the CPU interpreter keeps float64; O = T - 2^24 then loses X's fraction on the GPU
    // only. (In one equation, (X + big) - big, the shader compiler reassociates it away.) With
    // big = 0 the same spec passes: the difference is the rounding, not the kernels.
    const dir = await tempDir();
    const spec = join(dir, 'cancel.attn');
    await writeFile(
      spec,
      'attention cancel {\n  input X[i]\n  param big: f32 = 16777216\n  T[i] = X[i] + big\n  O[i] = T[i] - big\n  output O\n}\n',
    );
    const failing = await spawnAttnc(['check', spec, '--dims', 'i=9']);
    expect(failing.code).toBe(1);
    expect(failing.stdout).toMatch(/^ {2}O \[9\] .*FAIL/m);
    const control = await spawnAttnc(['check', spec, '--dims', 'i=9', '--set', 'big=0']);
    expect(control.code).toBe(0);
  });

  it('fmt --check exits 1 and names only the files that are not formatted', T, async () => {
    const dir = await tempDir();
    const messy = join(dir, 'messy.attn');
    await writeFile(messy, 'attention a{input X[i]\nO[i]=X[i]*2\noutput O}\n');
    const r = await spawnAttnc(['fmt', '--check', messy, 'stdlib/mha.attn', 'stdlib/gqa.attn']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe(`${messy}: not formatted\n`);
  });
});
