// attn kernel k0_S: S[b, hq, p, m] = sum[e] ((Q[b, hq, p, e] * K[b, (hq / G), m, e]) * rsqrt(E)) where (m <= p)

struct Uniforms {
  s_B: i32,
  s_E: i32,
  s_HK: i32,
  s_HQ: i32,
  s_M: i32,
  s_P: i32,
  s_G: i32,
}

@group(0) @binding(0) var<uniform> u: Uniforms;
@group(0) @binding(1) var<storage, read> t_Q: array<f32>;
@group(0) @binding(2) var<storage, read> t_K: array<f32>;
@group(0) @binding(3) var<storage, read_write> t_S: array<u32>;

const ABSENT: u32 = 0x7fa0ab5eu;

// A present value as stored in an f32-absent buffer: never the ABSENT marker.
fn attn_encode(x: f32) -> u32 {
  let bits = bitcast<u32>(x);
  return select(bits, 0x7fc00000u, bits == ABSENT);
}

fn attn_floor_div(a: i32, b: i32) -> i32 {
  let q = a / b;
  return select(q, q - 1, (a % b != 0) && ((a < 0) != (b < 0)));
}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lidx: u32) {
  let lin = i32((wid.y * nwg.x + wid.x) * 64u + lidx);
  if (lin >= (((u.s_B * u.s_HQ) * u.s_P) * u.s_M)) {
    return;
  }
  let i_m = lin % u.s_M;
  let q1 = lin / u.s_M;
  let i_p = q1 % u.s_P;
  let q2 = q1 / u.s_P;
  let i_hq = q2 % u.s_HQ;
  let q3 = q2 / u.s_HQ;
  let i_b = q3;
  let v7 = i_m <= i_p;
  var acc4: f32 = 0.0f;
  if (v7) {
    for (var i_e: i32 = 0i; i_e < u.s_E; i_e++) {
      let a8 = (((((i_b * u.s_HQ) + i_hq) * u.s_P) + i_p) * u.s_E) + i_e;
      let v9 = t_Q[a8];
      let x10 = attn_floor_div(i_hq, u.s_G);
      let ok11 = u.s_G > 0i;
      let ok12 = ok11 && ((x10 >= 0i) && (x10 < u.s_HK));
      let a13 = (((((i_b * u.s_HK) + x10) * u.s_M) + i_m) * u.s_E) + i_e;
      let a14 = select(0i, a13, ok12);
      let v15 = t_K[a14];
      let v16 = v9 * v15;
      let v17 = f32(u.s_E);
      let v18 = inverseSqrt(v17);
      let v19 = v16 * v18;
      if (ok12) {
        acc4 = acc4 + v19;
      }
    }
  }
  t_S[lin] = select(ABSENT, attn_encode(acc4), v7);
}

// ────────

// attn kernel k1_GM: GM[b, hq, p] = max[m] S[b, hq, p, m]

struct Uniforms {
  s_B: i32,
  s_E: i32,
  s_HK: i32,
  s_HQ: i32,
  s_M: i32,
  s_P: i32,
  s_G: i32,
}

@group(0) @binding(0) var<uniform> u: Uniforms;
@group(0) @binding(1) var<storage, read> t_S: array<u32>;
@group(0) @binding(2) var<storage, read_write> t_GM: array<f32>;

const ABSENT: u32 = 0x7fa0ab5eu;

fn attn_max(a: f32, b: f32) -> f32 {
  return select(max(a, b), a + b, (a != a) || (b != b));
}

fn attn_neg_inf() -> f32 {
  let bits = 0xff800000u;
  return bitcast<f32>(bits);
}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lidx: u32) {
  let lin = i32((wid.y * nwg.x + wid.x) * 64u + lidx);
  if (lin >= ((u.s_B * u.s_HQ) * u.s_P)) {
    return;
  }
  let i_p = lin % u.s_P;
  let q1 = lin / u.s_P;
  let i_hq = q1 % u.s_HQ;
  let q2 = q1 / u.s_HQ;
  let i_b = q2;
  var acc3: f32 = 0.0f;
  var seen4: bool = false;
  for (var i_m: i32 = 0i; i_m < u.s_M; i_m++) {
    let a6 = (((((i_b * u.s_HQ) + i_hq) * u.s_P) + i_p) * u.s_M) + i_m;
    let w7 = t_S[a6];
    let v8 = bitcast<f32>(w7);
    let ok9 = w7 != ABSENT;
    if (ok9) {
      acc3 = select(v8, attn_max(acc3, v8), seen4);
      seen4 = true;
    }
  }
  let r10 = select(attn_neg_inf(), acc3, seen4);
  t_GM[lin] = r10;
}
