/**
 * Dependency order. Statements and consts may be written in any order; the IR lists them so that
 * everything is defined before it is used. The sort is stable (source order wherever the
 * dependencies allow it) so printed IR stays close to what the user wrote.
 */

export interface OrderResult {
  readonly order: readonly string[];
  /** A dependency cycle, as the names along it (first name repeated at the end). */
  readonly cycle: readonly string[] | null;
}

/**
 * @param nodes names in source order
 * @param dependsOn the names (among `nodes`) that `name` uses; a self-dependency is a cycle
 */
export function stableTopologicalOrder(
  nodes: readonly string[],
  dependsOn: (name: string) => readonly string[],
  selfDependent: (name: string) => boolean = () => false,
): OrderResult {
  const known = new Set(nodes);
  const deps = new Map(nodes.map((n) => [n, dependsOn(n).filter((d) => known.has(d) && d !== n)]));
  for (const n of nodes) if (selfDependent(n)) return { order: [], cycle: [n, n] };
  const done = new Set<string>();
  const order: string[] = [];
  while (order.length < nodes.length) {
    const next = nodes.find((n) => !done.has(n) && deps.get(n)!.every((d) => done.has(d)));
    if (next === undefined)
      return {
        order,
        cycle: findCycle(
          nodes.filter((n) => !done.has(n)),
          deps,
        ),
      };
    done.add(next);
    order.push(next);
  }
  return { order, cycle: null };
}

function findCycle(
  remaining: readonly string[],
  deps: ReadonlyMap<string, readonly string[]>,
): string[] {
  const left = new Set(remaining);
  // Every remaining node has a remaining dependency, so walking dependencies must revisit a node.
  const path: string[] = [];
  const seen = new Map<string, number>();
  let at = remaining[0];
  while (!seen.has(at)) {
    seen.set(at, path.length);
    path.push(at);
    at = deps.get(at)!.find((d) => left.has(d))!;
  }
  const cycle = path.slice(seen.get(at)!);
  // Report in the direction of use: A uses B uses ... uses A.
  return [...cycle, cycle[0]];
}
