/**
 * The diagnostic catalogue: every code the compiler can report, its message template and
 * its default hint. `{0}`, `{1}`, ... are filled by the reporter. `docs/errors.md` documents each
 * code with a failing example; a test checks the two agree.
 *
 * Codes are grouped by phase: E0xx lexical and syntax, E1xx names, E2xx indices and extents
 * (the Einsum rule), E3xx types, E4xx recurrences and cycles, E5xx schedule and device limits,
 * E6xx binding at run time (inputs, shapes, parameters).
 */
export const MESSAGES = {
  // ── E0xx: lexical and syntax ──────────────────────────────────────────────────────────
  E001: {
    severity: 'error',
    message: 'unexpected character `{0}`',
    hint: 'remove it; comments start with `#`',
  },
  E002: {
    severity: 'error',
    message: 'malformed number `{0}`',
    hint: 'write numbers as `12`, `0.5` or `1e-3`',
  },
  E010: { severity: 'error', message: 'expected {0} but found {1}', hint: undefined },
  E011: {
    severity: 'error',
    message: 'unexpected end of file: expected {0}',
    hint: 'close every `attention {` block with `}`',
  },
  E012: {
    severity: 'error',
    message: 'file has no `attention` block',
    hint: 'write `attention NAME { ... }` around the spec',
  },

  // ── E1xx: names ───────────────────────────────────────────────────────────────────────
  E101: {
    severity: 'error',
    message: 'unknown tensor `{0}`',
    hint: 'declare it with `input {0}[...]` or define it with an equation',
  },
  E102: {
    severity: 'error',
    message: 'unknown function `{0}`',
    hint: 'the element-wise functions are: {1}',
  },
  E103: {
    severity: 'error',
    message: 'duplicate name `{0}`',
    hint: 'rename one of them; inputs, params, consts, tensors and extents share one namespace',
  },
  E104: {
    severity: 'error',
    message: 'unknown name `{0}`',
    hint: 'a bare name must be an index, the extent of an index (its name upper-cased), a `const` or a `param`',
  },
  E105: {
    severity: 'error',
    message: 'output `{0}` is never defined',
    hint: 'define `{0}` with an equation',
  },
  E106: { severity: 'error', message: 'unknown type `{0}`', hint: 'use one of: {1}' },
  E107: {
    severity: 'error',
    message: 'input `{0}` cannot be assigned',
    hint: 'give the computed tensor a different name',
  },
  E108: {
    severity: 'error',
    message: 'tensor `{0}` is defined more than once',
    hint: 'each tensor has one equation (a recurrence has one equation and one `init`); to define a tensor piecewise, give every equation a `where` filter',
  },
  E109: {
    severity: 'error',
    message: 'attention `{0}` declares no output',
    hint: 'add `output NAME` for the tensor(s) the kernel returns',
  },
  E110: {
    severity: 'error',
    message: 'duplicate attention block `{0}`',
    hint: 'give every `attention` block in a file its own name',
  },
  E111: {
    severity: 'error',
    message: 'index `{0}` must start with a lower-case letter',
    hint: 'indices are lower-case (`m`, `hq`); their extents are the upper-cased names (`M`, `HQ`)',
  },
  E112: {
    severity: 'error',
    message: '`{0}` is {1}, not a tensor',
    hint: 'only tensors are read with `[...]`',
  },
  E113: { severity: 'error', message: 'unknown macro `{0}`', hint: 'the macros are: {1}' },
  E114: {
    severity: 'error',
    message: '`{0}[{1}]` needs `{1}` on the left-hand side',
    hint: '`{0}` keeps the shape of its argument: write `T[..., {1}, ...] = {0}[{1}](...)`',
  },
  W101: {
    severity: 'warning',
    message: 'tensor `{0}` is computed but never used',
    hint: 'remove the equation or list `{0}` in `output`',
  },

  // ── E2xx: indices and extents (the Einsum rule) ───────────────────────────────────────
  E201: {
    severity: 'error',
    message: '`{0}` has {1} but is read with {2}',
    hint: 'write one subscript per dimension',
  },
  E202: {
    severity: 'error',
    message: 'index `{0}` has no extent',
    hint: 'use `{0}` in an input declaration, or fix its extent with `const {1} = ...`',
  },
  E203: {
    severity: 'error',
    message: 'index `{0}` on the left is not bound on the right',
    hint: 'every index on the left must appear in a subscript on the right',
  },
  E204: {
    severity: 'error',
    message:
      'conflicting extents: index `{0}` ranges over `{1}`, but dimension {2} of `{3}` has extent `{4}`',
    hint: 'use `{5}` here, the index of that dimension, or an index expression (which reads absent outside the tensor)',
  },
  E205: {
    severity: 'error',
    message: 'reduction over index `{0}`, which {1}',
    hint: 'a reducer may only name indices that appear on its right-hand side and not on the left',
  },
  E206: {
    severity: 'error',
    message: 'index `{0}` is neither on the left nor reduced by `{1}`',
    hint: 'add `{0}` to the reducer (`{1}[..., {0}]`) or to the left-hand side',
  },
  E207: {
    severity: 'error',
    message: 'a subscript on the left must be a plain index',
    hint: 'write `T[i, j] = ...`; only a recurrence may use `i + 1` on the left',
  },
  E208: {
    severity: 'error',
    message: 'index `{0}` appears twice on the left',
    hint: 'a diagonal is read on the right (`D[i] = A[i, i]`), not written on the left',
  },
  E209: {
    severity: 'error',
    message: 'a reduction must be the whole right-hand side',
    hint: 'move `{0}[...]` into an equation of its own and use its result here',
  },
  E211: {
    severity: 'error',
    message: '{1} by `{0}` in an index expression',
    hint: 'divide indices by a positive constant or extent',
  },
  E212: {
    severity: 'error',
    message: 'index `{0}` is reduced twice',
    hint: 'name each reduced index once',
  },

  E213: {
    severity: 'error',
    message: '`topk` takes two indices (the reduced one and the rank), not {0}',
    hint: 'write `Idx[..., j] = topk[m, j] score[..., m]`: the `j`-th largest score over `m`, for `j` below `J`',
  },
  E214: {
    severity: 'error',
    message: 'the rank index `{0}` of `topk` must be on the left and not on the right',
    hint: 'put the rank index on the left (`Idx[..., j] = topk[m, j] ...`); its extent is how many keys to keep',
  },

  // ── E3xx: types ───────────────────────────────────────────────────────────────────────
  E301: {
    severity: 'error',
    message: 'a boolean is used as a number',
    hint: 'use `select(cond, a, b)` to turn a condition into a number',
  },
  E302: {
    severity: 'error',
    message: 'a number is used as a condition',
    hint: 'compare it: `x > 0`',
  },
  E303: {
    severity: 'error',
    message: '`{0}` takes {1} but was given {2}',
    hint: undefined,
  },
  E304: {
    severity: 'error',
    message: 'const `{0}` must be an integer or a boolean',
    hint: 'use `param {0}: f32 = ...` for a real-valued scalar',
  },
  E305: {
    severity: 'error',
    message: 'the default of param `{0}` is {1}, but its type is `{2}`',
    hint: 'give a default of the declared type',
  },
  E306: {
    severity: 'error',
    message: 'an index expression must be an integer, but {0} is a real number',
    hint: 'subscripts, filter bounds and consts use indices, extents, consts, integer params and integer literals',
  },
  E307: {
    severity: 'error',
    message: 'type `{0}` is not allowed for {1}',
    hint: 'use one of: {2}',
  },
  E308: {
    severity: 'error',
    message: '{0} `{1}` cannot be used in {2}',
    hint: 'consts and param defaults are fixed when the shapes are known; use the param in an equation instead',
  },

  // ── E4xx: recurrences and cycles ──────────────────────────────────────────────────────
  E401: {
    severity: 'error',
    message: 'recurrence `{0}` has no `init`',
    hint: 'add `init {0}[...] = ...` giving its value at step 0',
  },
  E402: {
    severity: 'error',
    message: 'cyclic definition: {0}',
    hint: 'break the cycle; only a recurrence reads itself, at the previous step (`T[i + 1] = f(T[i])`)',
  },
  E403: {
    severity: 'error',
    message: '`init {0}` has no recurrence',
    hint: 'write the update `{0}[..., i + 1, ...] = f({0}[..., i, ...])`, or drop the `init`',
  },
  E404: {
    severity: 'error',
    message: 'recurrence `{0}` must read itself at step `{1}`',
    hint: 'the update of `{0}[{1} + 1]` may only read `{0}` at `{1}`',
  },
  E405: {
    severity: 'error',
    message: 'the `init` of `{0}` must write step 0, with the other subscripts as on the update',
    hint: 'write `init {0}[..., 0, ...] = ...`',
  },
  E406: {
    severity: 'error',
    message: 'a recurrence may step along one axis only',
    hint: 'write `i + 1` in one subscript on the left and plain indices in the others',
  },

  // ── E5xx: schedule and device limits ──────────────────────────────────────────────────
  E501: {
    severity: 'error',
    message: 'the kernel for `{0}` needs {1} storage buffers but the device allows {2}',
    hint: 'split the spec into smaller attention blocks',
  },
  E502: {
    severity: 'error',
    message:
      'tensor `{0}` of shape [{1}] needs {2} bytes but the device allows {3} per storage buffer',
    hint: 'run smaller shapes (fewer heads or a shorter sequence per call)',
  },
  E503: {
    severity: 'error',
    message: 'the kernel for `{0}` needs {1} workgroups, more than the device can dispatch',
    hint: 'run smaller shapes (fewer heads or a shorter sequence per call)',
  },
  E504: {
    severity: 'error',
    message: '`{0}` was compiled with f16 storage but the device has no `shader-f16` feature',
    hint: 'compile without `f16: true`, or request `shader-f16` when creating the device',
  },

  E510: {
    severity: 'error',
    message: 'unknown schedule directive `{0}`',
    hint: 'the directives are `tile INDEX = SIZE`, `fuse TENSOR`, `group INDEX / CONST` and `split INDEX`',
  },
  E511: {
    severity: 'error',
    message: '`{0}` is written `{1}`',
    hint: 'for example: {2}',
  },
  E512: {
    severity: 'error',
    message: 'the schedule names `{0}`, which is not {1} of `{2}`',
    hint: undefined,
  },
  E513: {
    severity: 'error',
    message: 'tile size {0} must be an integer from 1 to 1024',
    hint: 'tiles of 16 to 128 suit most devices; leave `tile` out to let the compiler choose',
  },

  // ── E6xx: binding at run time (inputs, shapes, parameters) ────────────────────────────
  E601: {
    severity: 'error',
    message: 'missing input `{0}`',
    hint: 'pass a tensor for every `input`',
  },
  E602: {
    severity: 'error',
    message: 'input `{0}` has rank {1} but is declared with rank {2}',
    hint: 'reshape the tensor to the declared rank',
  },
  E603: {
    severity: 'error',
    message: 'conflicting extents at run time: `{0}` is {1} from {2} but {3} from {4}',
    hint: 'give every tensor the same size along dimensions that share an index',
  },
  E604: {
    severity: 'error',
    message: 'unknown param `{0}`',
    hint: 'the params of this spec are: {1}',
  },
  E605: {
    severity: 'error',
    message: 'input `{0}` has {1} elements but its shape [{2}] needs {3}',
    hint: undefined,
  },
  E606: {
    severity: 'error',
    message: 'extent `{0}` evaluates to {1}, which is not a valid extent',
    hint: 'extents must be positive integers',
  },
  E607: {
    severity: 'error',
    message: 'unknown input `{0}`',
    hint: 'the inputs of this spec are: {1}',
  },
  E608: {
    severity: 'error',
    message: 'input `{0}` is declared `{1}` but was given a tensor of type `{2}`',
    hint: undefined,
  },
  E609: { severity: 'error', message: 'param `{0}` expects {1}', hint: undefined },
} as const satisfies Record<
  string,
  { severity: 'error' | 'warning'; message: string; hint: string | undefined }
>;

export type DiagnosticCode = keyof typeof MESSAGES;
