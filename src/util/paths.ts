// Where the package's own files are at run time (compiled code lives in dist/, assets at the root).
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

/** The package root: the folder holding package.json, models/ and build/. */
export const PACKAGE_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** The shipped default model's folder (vocab.txt, and later the weights). */
export const DEFAULT_MODEL_DIR = join(PACKAGE_ROOT, 'models', 'default');
