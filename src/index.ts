// orma's library entry point. Each layer is also importable on its own (see package.json "exports"):
//   import { tidy, randn } from 'orma/tensor';   import { buildHierGraph } from 'orma/chem';   import { evaluate } from 'orma/eval';
export * as tensor from './tensor/index.js';
export * as nn from './nn/index.js';
export * as chem from './chem/index.js';
export * as text from './text/index.js';
export * as evaluation from './eval/index.js';
