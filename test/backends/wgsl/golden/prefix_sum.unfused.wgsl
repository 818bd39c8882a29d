// attn kernel k0_C: C[i, s + 1] = (C[i, s] + X[i, s]) (init 0)

struct Uniforms {
  s_I: i32,
  s_S: i32,
}

@group(0) @binding(0) var<uniform> u: Uniforms;
@group(0) @binding(1) var<storage, read> t_X: array<f32>;
@group(0) @binding(2) var<storage, read_write> t_C: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lidx: u32) {
  let lin = i32((wid.y * nwg.x + wid.x) * 64u + lidx);
  if (lin >= u.s_I) {
    return;
  }
  let i_i = lin;
  let x1 = u.s_S + 1i;
  let at2 = (i_i * x1) + 0i;
  t_C[at2] = 0.0f;
  for (var i_s: i32 = 0i; i_s < u.s_S; i_s++) {
    let at3 = (i_i * x1) + (i_s + 1i);
    let at4 = (i_i * x1) + i_s;
    let v5 = t_C[at4];
    let a6 = (i_i * u.s_S) + i_s;
    let v7 = t_X[a6];
    let v8 = v5 + v7;
    t_C[at3] = v8;
  }
}
