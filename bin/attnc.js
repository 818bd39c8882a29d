#!/usr/bin/env node
// The `attnc` executable. attn ships TypeScript sources, so this registers tsx's loader and runs
// `cli/attnc.ts`. Chevrotain (and the few hundred lodash-es modules under it) is imported first,
// by Node's own loader: resolved through tsx's hooks it takes about twice as long to start.
import 'chevrotain';
import { register } from 'tsx/esm/api';

register();
let cli;
try {
  cli = await import('../cli/attnc.ts');
} catch (error) {
  // attnc's own sources failed to load: a broken installation or a bug, never a user error.
  console.error(`attnc: internal compiler error: could not load attnc: ${error?.message ?? error}`);
  process.exit(70);
}
await cli.main();
