/** The `.attn` files shipped with attn: every stdlib spec and example. */
import { readdirSync, readFileSync } from 'node:fs';

export interface SpecFile {
  /** Repository-relative path, e.g. `stdlib/gqa.attn`. */
  readonly path: string;
  readonly text: string;
}

export function shippedSpecs(): SpecFile[] {
  return ['stdlib', 'examples'].flatMap((dir) =>
    readdirSync(new URL(`../../${dir}/`, import.meta.url))
      .filter((f) => f.endsWith('.attn'))
      .sort()
      .map((f) => ({
        path: `${dir}/${f}`,
        text: readFileSync(new URL(`../../${dir}/${f}`, import.meta.url), 'utf8'),
      })),
  );
}
