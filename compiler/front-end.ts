/**
 * The front end: `.attn` text → checked IR programs (one per `attention` block) + diagnostics.
 * parse (grammar/) → expand macros → check. Never throws on any input.
 */
import { parseSource } from '../grammar/index.ts';
import { checkModule } from './check/index.ts';
import {
  DiagnosticBag,
  hasErrors,
  sortDiagnostics,
  type Diagnostic,
} from './diagnostics/diagnostic.ts';
import { createSourceFile, type SourceFile } from './diagnostics/source.ts';
import { expandMacros } from './expand-macros.ts';
import type { Program } from './ir.ts';

export interface FrontEndResult {
  /** One program per `attention` block that checked without errors. */
  readonly programs: readonly Program[];
  readonly diagnostics: readonly Diagnostic[];
  /** The source, for rendering diagnostics (`formatDiagnostics`). */
  readonly source: SourceFile;
}

export function checkSource(text: string, fileName = '<input>'): FrontEndResult {
  const source = createSourceFile(fileName, text);
  const parsed = parseSource(text, fileName);
  // After a syntax error the recovered tree has holes (a lost equation makes its tensor
  // "unknown" everywhere), so checking it would mostly report consequences: stop here.
  if (!parsed.module || hasErrors(parsed.diagnostics))
    return { programs: [], diagnostics: parsed.diagnostics, source };
  const bag = new DiagnosticBag(fileName);
  const expanded = expandMacros(parsed.module, bag);
  const checked = checkModule(expanded, fileName);
  const diagnostics = sortDiagnostics([
    ...parsed.diagnostics,
    ...bag.sorted(),
    ...checked.diagnostics,
  ]);
  return { programs: hasErrors(diagnostics) ? [] : checked.programs, diagnostics, source };
}
