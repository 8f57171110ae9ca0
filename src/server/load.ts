// Opens the real search backend (src/search's OrmaSearch) for `orma serve` and the tests.
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { OrmaSearch } from '../search/index.js';
import type { SearchBackend } from './backend.js';

export interface LoadOptions { model?: string; library?: string; texts?: string; indexDir?: string; progress?: NodeJS.WriteStream | null }

const EXTS = { molecules: ['.tsv.gz', '.tsv', '.smi'], texts: ['.tsv.gz', '.tsv', '.txt'] };

/** The first of DIR/NAME.<ext> that exists (the file formats src/search/library.ts reads). */
function inFolder(dir: string, name: 'molecules' | 'texts'): string | undefined {
  return EXTS[name].map((e) => join(dir, name + e)).find((p) => existsSync(p));
}

/**
 * `--library` is a molecule library file (TSV, .gz, or .smi), or a folder holding molecules.<ext>
 * and, optionally, texts.<ext> (the descriptions /api/describe searches).
 */
export async function loadBackend(o: LoadOptions): Promise<SearchBackend> {
  let molecules: string | undefined, texts = o.texts;
  if (o.library !== undefined) {
    if (statSync(o.library, { throwIfNoEntry: false })?.isDirectory()) {
      molecules = inFolder(o.library, 'molecules');
      if (!molecules) throw new Error(`${o.library}: no molecules.{${EXTS.molecules.map((e) => e.slice(1)).join(',')}} in this folder`);
      texts ??= inFolder(o.library, 'texts');
    } else molecules = o.library;
  }
  return OrmaSearch.load({ model: o.model, molecules, texts, indexDir: o.indexDir, progress: o.progress });
}
