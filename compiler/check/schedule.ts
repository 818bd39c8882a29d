/**
 * `schedule { ... }` blocks → the IR's `Schedule`. Directives:
 *   tile INDEX = SIZE     fuse TENSOR     group INDEX / CONST     split INDEX
 * A directive may name an index the `tile` pass has already partitioned (`tile m = 64` still
 * stands once the IR says `m1, m0`), so that printed IR after a pass checks again.
 */
import type * as ast from '../../grammar/ast.ts';
import type { DiagnosticBag } from '../diagnostics/diagnostic.ts';
import type { IndexName, Schedule, TensorName } from '../ir.ts';
import type { BlockScope } from './scope.ts';

const FORMS = {
  tile: { form: 'tile INDEX = SIZE', example: '`tile m = 64`', operator: '=' },
  fuse: { form: 'fuse TENSOR', example: '`fuse O`', operator: null },
  group: { form: 'group INDEX / CONST', example: '`group hq / G`', operator: '/' },
  split: { form: 'split INDEX', example: '`split m`', operator: null },
} as const;

type Verb = keyof typeof FORMS;

export function checkSchedule(
  block: ast.Attention,
  scope: BlockScope,
  bag: DiagnosticBag,
): Schedule {
  const tiles: { index: IndexName; size: number }[] = [];
  const fused: TensorName[] = [];
  const groups: { index: IndexName; by: string }[] = [];
  const splits: IndexName[] = [];
  const name = block.name.text;
  const isIndex = (i: string) =>
    scope.indices.has(i) || (scope.indices.has(`${i}1`) && scope.indices.has(`${i}0`));
  const list = (names: Iterable<string>) => [...names].map((n) => `\`${n}\``).join(', ');
  const notAnIndex = (target: ast.Identifier) =>
    bag.report('E512', target.span, [target.text, 'an index', name], {
      hint: `the indices of \`${name}\` are ${list(scope.indices.keys())}`,
    });

  for (const item of block.items) {
    if (item.kind !== 'schedule') continue;
    for (const entry of item.entries) {
      const verb = entry.verb.text;
      if (!(verb in FORMS)) {
        bag.report('E510', entry.verb.span, [verb]);
        continue;
      }
      const form = FORMS[verb as Verb];
      if (entry.operator !== form.operator) {
        bag.report('E511', entry.span, [verb, form.form, form.example]);
        continue;
      }
      const target = entry.target.text;
      switch (verb as Verb) {
        case 'tile': {
          if (!isIndex(target)) {
            notAnIndex(entry.target);
            break;
          }
          const size = entry.value?.kind === 'number' ? entry.value : null;
          if (!size || !size.isInteger || size.value < 1 || size.value > 1024) {
            bag.report('E513', (size ?? entry).span, [size?.text ?? '?']);
            break;
          }
          tiles.push({ index: target as IndexName, size: size.value });
          break;
        }
        case 'fuse':
          if (!scope.definitions.some((d) => d.target === target))
            bag.report('E512', entry.target.span, [target, 'a computed tensor', name], {
              hint: `the computed tensors of \`${name}\` are ${list(scope.definitions.map((d) => d.target))}`,
            });
          else fused.push(target as TensorName);
          break;
        case 'group': {
          const by = entry.value?.kind === 'identifier' ? entry.value.text : '';
          if (!isIndex(target)) notAnIndex(entry.target);
          else if (!scope.consts.has(by) && !scope.extents.has(by))
            bag.report('E512', entry.value!.span, [by, 'a const or an extent', name]);
          else groups.push({ index: target as IndexName, by });
          break;
        }
        case 'split':
          if (!isIndex(target)) notAnIndex(entry.target);
          else splits.push(target as IndexName);
          break;
      }
    }
  }
  return { tiles, fused, groups, splits };
}
