// Model directories (open_clip's factory): an ORMA model is a folder with
//   config.json        {format, version, orma, text, tokenizer, featurizer}: everything needed to rebuild it
//   model.safetensors  the weights (float32, or float16 to halve the size; loaded back as float32)
//   vocab.txt          the WordPiece vocabulary
//   mol2vec.safetensors  only with `orma.molecule.atomInput: 'mol2vec'`: the frozen Mol2vec table
// and optionally a README.md model card. Saves are atomic (a new folder, then a swap), loads check every
// field and name the file.
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { loadSafetensors, noGrad, saveSafetensors, type Tensor } from '../tensor/index.js';
import type { BertConfig, BertModel } from '../nn/index.js';
import { BertTokenizer, saveVocabFile } from '../text/index.js';
import type { NoBricsFallback } from '../chem/index.js';
import { FEATURIZER_VERSION } from '../chem/hiergraph.js';
import { Orma, type OrmaConfig } from './orma.js';
import { DEFAULT_ORMA } from './config.js';
import { MOL2VEC_FILE, encodeMol2vecTable, readMol2vecTable, type Mol2vecTable } from './mol2vec.js';

export const MODEL_FORMAT = 'orma-model', MODEL_FORMAT_VERSION = 1;

/** How molecules become graphs for this model (the featurizer's options are part of the model). */
export interface FeaturizerConfig {
  version: number;
  noBricsFallback: NoBricsFallback;
  downwardEdges: boolean;
}

export interface ModelConfig {
  format: typeof MODEL_FORMAT;
  version: number;
  orma: OrmaConfig;
  text: BertConfig;
  tokenizer: { lowercase: boolean; maxLength: number };
  featurizer: FeaturizerConfig;
}

export interface OrmaBundle {
  config: ModelConfig;
  model: Orma;
  tokenizer: BertTokenizer;
}

export const DEFAULT_FEATURIZER: FeaturizerConfig = { version: FEATURIZER_VERSION, noBricsFallback: 'rings', downwardEdges: false };

/** A fresh model (random weights, or the given BERT as the text encoder) around a tokenizer. */
/** `mol2vec`: the table, required when `orma.molecule.atomInput` is 'mol2vec'. */
export function createOrma(o: { orma?: Partial<OrmaConfig>; text: BertConfig | BertModel; tokenizer: BertTokenizer; maxLength?: number; featurizer?: Partial<FeaturizerConfig>; mol2vec?: Mol2vecTable }): OrmaBundle {
  const orma = { ...DEFAULT_ORMA, ...o.orma };
  const model = new Orma(orma, o.text, { mol2vec: o.mol2vec });
  const config: ModelConfig = {
    format: MODEL_FORMAT, version: MODEL_FORMAT_VERSION, orma, text: model.text.bert.config,
    tokenizer: { lowercase: o.tokenizer.lowercase, maxLength: o.maxLength ?? 256 },
    featurizer: { ...DEFAULT_FEATURIZER, ...o.featurizer },
  };
  if (o.tokenizer.vocab.size > config.text.vocabSize) throw new Error(`the vocabulary has ${o.tokenizer.vocab.size} tokens but the text encoder only ${config.text.vocabSize}`);
  return { config, model, tokenizer: o.tokenizer };
}

/** Writes a model directory atomically; `float16` stores the weights in half precision. */
export function saveOrmaModel(dir: string, b: OrmaBundle, o: { float16?: boolean; card?: string } = {}): void {
  const parent = dirname(dir);
  mkdirSync(parent, { recursive: true });
  const tmp = join(parent, `.${basename(dir)}.tmp-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp);
  noGrad(() => {
    const tensors: Record<string, Tensor> = Object.fromEntries(b.model.namedParameters().map(([n, p]) => [n, o.float16 ? p.to('float16') : p]));
    saveSafetensors(join(tmp, 'model.safetensors'), tensors, { format: 'pt', orma_format: MODEL_FORMAT });
    if (o.float16) for (const t of Object.values(tensors)) t.dispose();
  });
  writeJson(join(tmp, 'config.json'), b.config);
  saveVocabFile(join(tmp, 'vocab.txt'), b.tokenizer.vocab);
  for (const [name, data] of Object.entries(modelFolderExtras(b))) writeFileSync(join(tmp, name), data);
  if (o.card) writeText(join(tmp, 'README.md'), o.card);
  const old = join(parent, `.${basename(dir)}.old-${process.pid}`);
  if (existsSync(dir)) renameSync(dir, old);
  renameSync(tmp, dir);
  rmSync(old, { recursive: true, force: true });
}

/** Reads a model directory written by saveOrmaModel; every problem names the file. */
export function loadOrmaModel(dir: string): OrmaBundle {
  const configPath = join(dir, 'config.json');
  if (!existsSync(configPath)) throw new Error(`${dir}: not an orma model directory (no config.json)`);
  let config: ModelConfig;
  try {
    config = JSON.parse(readFileSync(configPath, 'utf8')) as ModelConfig;
  } catch (err) {
    throw new Error(`${configPath}: not valid JSON: ${(err as Error).message}`);
  }
  if (config.format !== MODEL_FORMAT) throw new Error(`${configPath}: field 'format' is ${JSON.stringify(config.format)}, expected "${MODEL_FORMAT}"`);
  if (config.version > MODEL_FORMAT_VERSION) throw new Error(`${configPath}: format version ${config.version} is newer than this orma reads (${MODEL_FORMAT_VERSION}); upgrade orma`);
  for (const field of ['orma', 'text', 'tokenizer', 'featurizer'] as const) {
    if (typeof config[field] !== 'object' || config[field] === null) throw new Error(`${configPath}: field '${field}' is missing`);
  }
  if (config.featurizer.version !== FEATURIZER_VERSION) {
    throw new Error(`${configPath}: the model was trained with featurizer version ${config.featurizer.version}, this orma has ${FEATURIZER_VERSION}`);
  }
  const orma = { ...DEFAULT_ORMA, ...config.orma };
  const tokenizer = BertTokenizer.fromVocabFile(join(dir, 'vocab.txt'), { lowercase: config.tokenizer.lowercase });
  const mol2vec = orma.molecule.atomInput === 'mol2vec' ? readModelMol2vec(dir, configPath) : undefined;
  const model = new Orma(orma, config.text, { mol2vec });
  const weights = join(dir, 'model.safetensors');
  const tensors = loadSafetensors(weights).tensors;
  try {
    noGrad(() => model.loadStateDict(tensors));
  } catch (err) {
    model.dispose();
    throw new Error(`${weights}: does not fit ${configPath}: ${(err as Error).message}`);
  } finally {
    for (const t of Object.values(tensors)) t.dispose();
  }
  return { config: { ...config, orma }, model: model.eval(), tokenizer };
}

/** Files besides config, weights and vocabulary that a model folder (or a training checkpoint) needs. */
export function modelFolderExtras(b: OrmaBundle): Record<string, Uint8Array> {
  const table = b.model.molecules.mol2vec?.table;
  return table ? { [MOL2VEC_FILE]: encodeMol2vecTable(table) } : {};
}

function readModelMol2vec(dir: string, configPath: string): Mol2vecTable {
  const path = join(dir, MOL2VEC_FILE);
  if (!existsSync(path)) throw new Error(`${configPath}: the model uses Mol2vec atom inputs (orma.molecule.atomInput) but ${path} is missing`);
  return readMol2vecTable(path);
}

function writeJson(path: string, value: unknown): void {
  writeText(path, JSON.stringify(value, null, 2) + '\n');
}

function writeText(path: string, text: string): void {
  // plain writes inside a fresh temp folder: the folder swap is what makes the save atomic
  writeFileSync(path, text, 'utf8');
}
