// Reading description corpora for text-only training (vocabularies, MLM pre-training), with the
// guard that keeps evaluation text out of training.
import { basename } from 'node:path';
import { readTextFile } from '../util/fs.js';
import { formatProblems, readPairFile } from './datasets.js';

const EVAL_NAME = /(^|[^a-z])(test|val|valid|validation|dev)([^a-z]|$)/i;

/** True when a file's name says it holds evaluation data (test, validation, dev). */
export function isEvalFileName(file: string): boolean {
  return EVAL_NAME.test(basename(file));
}

/** Throws unless every file looks like training data (or `allowEvalText`). */
export function assertTrainingFiles(files: string[], what: string, allowEvalText = false): void {
  const evalFiles = files.filter(isEvalFileName);
  if (evalFiles.length > 0 && !allowEvalText) {
    throw new Error(`refusing to ${what} from evaluation text: ${evalFiles.join(', ')} ` +
      `(the name says test/validation). Use training splits only, or pass --allow-eval-text.`);
  }
}

export interface TextRow {
  text: string;
  /** The molecule the text describes, when the file is a pair TSV. */
  smiles?: string;
}

/**
 * The descriptions of a pair TSV (with their SMILES), or the non-blank lines of a plain text file.
 * Bad rows are reported through `warn` (file, line, field) and skipped.
 */
export function readTextRows(file: string, warn: (message: string) => void = (m) => console.error(m)): TextRow[] {
  const text = readTextFile(file);
  if (!(text.split('\n', 1)[0] ?? '').includes('\t')) {
    return text.split('\n').map((l) => l.trim()).filter((l) => l.length > 0).map((t) => ({ text: t }));
  }
  const pairs = readPairFile(file, { requireDescription: true });
  if (pairs.problems.length > 0) warn(`${file}: ${pairs.problems.length} row(s) skipped:\n${formatProblems(pairs.problems)}`);
  return pairs.rows.map((r) => ({ text: r.description!, smiles: r.smiles }));
}

export function readTexts(file: string, warn?: (message: string) => void): string[] {
  return readTextRows(file, warn).map((r) => r.text);
}
