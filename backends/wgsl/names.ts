/**
 * Identifier mangling for generated WGSL.
 *
 * Every user name gets a kind prefix (`t_Q` tensor, `i_m` index, `s_M` integer symbol, `p_cap`
 * real or bool param, `c_causal` bool const), so no user name can collide with a WGSL keyword,
 * a built-in function, or one of the generator's own names (which never contain such a prefix:
 * `u`, `lin`, `acc`, `v3`, `attn_*`). The body of the name is escaped injectively into ASCII:
 * letters and digits are kept, `_` becomes `__`, and any other code point becomes `_x<hex>_`.
 * Hence two different user names never mangle to the same identifier, and a name such as `_x`
 * or `__x` (WGSL reserves a leading `__`) is harmless.
 */
import { InternalError } from '../../compiler/diagnostics/diagnostic.ts';

/** Keywords and reserved words of WGSL (W3C WGSL §15.1–15.2), plus `_`. */
export const WGSL_RESERVED: ReadonlySet<string> = new Set(
  [
    // keywords
    'alias array atomic bitcast bool break case const const_assert continue continuing default',
    'diagnostic discard else enable f16 f32 false fn for i32 if let loop mat2x2 mat2x3 mat2x4',
    'mat3x2 mat3x3 mat3x4 mat4x2 mat4x3 mat4x4 override ptr requires return sampler',
    'sampler_comparison struct switch texture_1d texture_2d texture_2d_array texture_3d',
    'texture_cube texture_cube_array texture_depth_2d texture_depth_2d_array texture_depth_cube',
    'texture_depth_cube_array texture_depth_multisampled_2d texture_external',
    'texture_multisampled_2d texture_storage_1d texture_storage_2d texture_storage_2d_array',
    'texture_storage_3d true u32 var vec2 vec3 vec4 while',
    // reserved words
    'NULL Self abstract active alignas alignof as asm asm_fragment async attribute auto await',
    'become binding_array cast catch class co_await co_return co_yield coherent column_major',
    'common compile compile_fragment concept const_cast consteval constexpr constinit crate',
    'debugger decltype delete demote demote_to_helper do dynamic_cast enum explicit export',
    'extends extern external fallthrough filter final finally friend from fxgroup get goto',
    'groupshared highp impl implements import inline instanceof interface layout lowp macro',
    'macro_rules match mediump meta mod module move mut mutable namespace new nil noexcept',
    'noinline nointerpolation noperspective null nullptr of operator package packoffset',
    'partition pass patch pixelfragment precise precision premerge priv protected pub public',
    'readonly ref regardless register reinterpret_cast require resource restrict self set',
    'shared sizeof smooth snorm static static_assert static_cast std subroutine super target',
    'template this thread_local throw trait try type typedef typeid typename typeof union',
    'unless unorm unsafe unsized use using varying virtual volatile wgsl where with writeonly',
    'yield _',
  ]
    .join(' ')
    .split(' '),
);

/** What a user name denotes, which picks its prefix. */
export type NameKind = 'tensor' | 'index' | 'symbol' | 'param' | 'const';

const PREFIX: Readonly<Record<NameKind, string>> = {
  tensor: 't_',
  index: 'i_',
  symbol: 's_',
  param: 'p_',
  const: 'c_',
};

/** Escapes a user name into `[A-Za-z0-9_]`, injectively (see the file header). */
export function escapeName(name: string): string {
  let out = '';
  for (const ch of name) {
    if (/^[A-Za-z0-9]$/.test(ch)) out += ch;
    else if (ch === '_') out += '__';
    else out += `_x${ch.codePointAt(0)!.toString(16)}_`;
  }
  return out;
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Whether `id` may name a WGSL declaration. */
export function isValidIdentifier(id: string): boolean {
  return IDENTIFIER.test(id) && !id.startsWith('__') && !WGSL_RESERVED.has(id);
}

/** The WGSL identifier of a user name. */
export function mangle(kind: NameKind, name: string): string {
  if (name.length === 0) throw new InternalError(`empty ${kind} name`);
  const id = PREFIX[kind] + escapeName(name);
  if (!isValidIdentifier(id))
    throw new InternalError(`mangled name \`${id}\` is not a valid WGSL identifier`);
  return id;
}
