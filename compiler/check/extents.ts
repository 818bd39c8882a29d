/**
 * Extents. The extent of index `m` is the symbol `M`. It is known when
 *  1. a `const M = ...` fixes it, or
 *  2. an input declares `m` on one of its dimensions (other inputs declaring `m` are checked
 *     against it when the kernel runs: E603), or
 *  3. a statement reads a tensor with the plain subscript `m` on a dimension whose extent is
 *     known: then `M` is that extent, recorded as a synthesised `const M = N` so that the printed
 *     IR says where it came from.
 * An index whose extent a `const` fixes may read inputs of any extent (outside reads are absent).
 * A plain subscript `p` on a dimension of an *input* whose extent is another input-bound symbol
 * `N` unifies the two, as Einsum notation means: `Doc[p]` and `Doc[m]` say P = N = M. That is
 * recorded as `const P = N` as well, and checked when the kernel runs (E603). Any other
 * mismatch is a conflict (E204): extents fixed by consts that differ, or a computed tensor read
 * with an index other than its own (almost always a typo), except that the step index `s` may
 * read the step axis of a recurrence, which has `S + 1` positions.
 */
import * as A from '../affine.ts';
import type { Affine, ConstDecl } from '../ir.ts';
import { extentName } from '../ir.ts';
import type { ReadSite } from './exprs.ts';
import type { BlockScope } from './scope.ts';

export class ExtentTable {
  /** Extent symbols whose value is known. */
  private readonly bound = new Set<string>();
  /** Extents learnt from a plain subscript (rule 3). */
  readonly aliases: ConstDecl[] = [];

  constructor(private readonly scope: BlockScope) {
    for (const input of scope.inputs.values())
      for (const i of input.indices) this.bound.add(extentName(i.text));
    for (const name of scope.consts.keys()) if (scope.extents.has(name)) this.bound.add(name);
  }

  isBound(index: string): boolean {
    return this.bound.has(extentName(index));
  }

  /** The extent of dimension `axis` of `tensor`, or null while it is unknown. */
  dimExtent(tensor: string, axis: number): Affine | null {
    const info = this.scope.tensors.get(tensor);
    if (!info) return null;
    const index = info.dims[axis];
    if (!this.isBound(index)) return null;
    const e = A.symbol(extentName(index));
    return info.stepAxis === axis ? A.add(e, A.constant(1)) : e;
  }

  /** Binds or checks the extent of every plain-index subscript of a read. */
  onRead(site: ReadSite): void {
    const { bag } = this.scope;
    const info = this.scope.tensors.get(site.tensor)!;
    site.subscripts.forEach((sub, axis) => {
      const index = A.asIndex(sub);
      if (!index) return;
      const dim = this.dimExtent(site.tensor, axis);
      if (!dim) return;
      const extent = extentName(index);
      if (!this.bound.has(extent)) {
        this.bound.add(extent);
        this.aliases.push({ name: extent, type: 'i32', value: dim, origin: site.nodes[axis].span });
        this.scope.constValues.set(extent, dim);
        return;
      }
      const mine = this.resolve(A.symbol(extent));
      const theirs = this.resolve(dim);
      if (A.affineEqual(mine, theirs)) return;
      if (info.stepAxis === axis && A.affineEqual(A.add(mine, A.constant(1)), theirs)) return;
      // An index whose extent a const fixes says on purpose how far it runs: it may read an
      // input of another extent (concatenating key sets), and reads past the input are absent.
      if (info.kind === 'input' && this.scope.consts.has(extent)) return;
      if (info.kind === 'input' && this.canUnify(extent, theirs)) {
        this.aliases.push({ name: extent, type: 'i32', value: dim, origin: site.nodes[axis].span });
        this.scope.constValues.set(extent, dim);
        return;
      }
      // Dimensions are counted from 1 in messages, as people count them.
      const declared = info.dims[axis];
      bag.report(
        'E204',
        site.nodes[axis].span,
        [index, extent, axis + 1, site.tensor, printExtent(dim), declared],
        {
          related: [
            bag.related(
              info.dimSpans[axis],
              `dimension ${axis + 1} of \`${site.tensor}\` is indexed by \`${declared}\` here`,
            ),
          ],
        },
      );
    });
  }

  /**
   * Whether `extent`, bound by an input, may be declared equal to `other` (checked at run time):
   * not when a const already fixes it, and not when `other` is defined in terms of it.
   */
  private canUnify(extent: string, other: Affine): boolean {
    if (this.scope.constValues.has(extent) || this.scope.consts.has(extent)) return false;
    return !A.symbolsOf(other).has(extent);
  }

  /** Reports every index whose extent nothing determines. */
  reportUnbound(): void {
    for (const [index, span] of this.scope.indices) {
      if (!this.isBound(index)) this.scope.bag.report('E202', span, [index, extentName(index)]);
    }
  }

  /** Replaces consts (and learnt extents) by their definitions, so equal extents compare equal. */
  private resolve(a: Affine, depth = 0): Affine {
    if (depth > 32) return a;
    const out = A.mapAtoms(a, (atom) =>
      atom.kind === 'symbol' ? this.scope.constValues.get(atom.name) : undefined,
    );
    return out === a ? a : this.resolve(out, depth + 1);
  }
}

function printExtent(a: Affine): string {
  const sym = A.asAtom(a);
  if (sym?.kind === 'symbol') return sym.name;
  if (a.terms.length === 1 && a.terms[0].coeff === 1 && a.terms[0].atom.kind === 'symbol')
    return `${a.terms[0].atom.name} + ${a.constant}`;
  return 'another extent';
}
