// BERT checkpoints in the Hugging Face folder layout: config.json + vocab.txt (+ tokenizer_config.json)
// + model.safetensors (or pytorch_model.bin). Reads a user's checkpoint (SciBERT, BioBERT, ...) into our
// BertModel and writes ours in the same layout, so Hugging Face's transformers can read orma's encoders too.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadSafetensors, loadTorchCheckpoint, saveSafetensors, type Tensor } from '../tensor/index.js';
import { BertModel, type BertConfig, type LoadReport } from '../nn/index.js';
import { BertTokenizer } from '../text/index.js';
import { writeFileAtomic } from '../util/fs.js';

/** The Hugging Face config.json fields we read and write. */
interface HfBertConfig {
  model_type?: string;
  vocab_size: number;
  hidden_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  intermediate_size: number;
  max_position_embeddings: number;
  type_vocab_size?: number;
  hidden_dropout_prob?: number;
  attention_probs_dropout_prob?: number;
  layer_norm_eps?: number;
  initializer_range?: number;
  hidden_act?: string;
  position_embedding_type?: string;
}

/** Reads and checks a Hugging Face BERT config.json. */
export function readHfBertConfig(dir: string): BertConfig {
  const path = join(dir, 'config.json');
  if (!existsSync(path)) throw new Error(`${dir}: no config.json (expected a Hugging Face BERT folder: config.json, vocab.txt, model.safetensors)`);
  let c: HfBertConfig;
  try {
    c = JSON.parse(readFileSync(path, 'utf8')) as HfBertConfig;
  } catch (err) {
    throw new Error(`${path}: not valid JSON: ${(err as Error).message}`);
  }
  if (c.model_type !== undefined && c.model_type !== 'bert') throw new Error(`${path}: model_type '${c.model_type}' is not supported (only 'bert')`);
  if (c.hidden_act !== undefined && c.hidden_act !== 'gelu') throw new Error(`${path}: hidden_act '${c.hidden_act}' is not supported (only 'gelu', BERT's exact GELU)`);
  if (c.position_embedding_type !== undefined && c.position_embedding_type !== 'absolute') {
    throw new Error(`${path}: position_embedding_type '${c.position_embedding_type}' is not supported (only 'absolute')`);
  }
  for (const k of ['vocab_size', 'hidden_size', 'num_hidden_layers', 'num_attention_heads', 'intermediate_size', 'max_position_embeddings'] as const) {
    if (!Number.isInteger(c[k]) || c[k] <= 0) throw new Error(`${path}: '${k}' must be a positive integer, got ${JSON.stringify(c[k])}`);
  }
  return {
    vocabSize: c.vocab_size, hidden: c.hidden_size, layers: c.num_hidden_layers, heads: c.num_attention_heads,
    ffn: c.intermediate_size, maxPositions: c.max_position_embeddings, typeVocabSize: c.type_vocab_size ?? 2,
    dropout: c.hidden_dropout_prob ?? 0.1, attentionDropout: c.attention_probs_dropout_prob ?? 0.1,
    layerNormEps: c.layer_norm_eps ?? 1e-12, initStd: c.initializer_range ?? 0.02,
  };
}

export function toHfBertConfig(c: BertConfig): HfBertConfig & { architectures: string[] } {
  if (c.norm === 'pre') throw new Error('a pre-LN text encoder (text.norm = "pre") has no Hugging Face BERT equivalent; export needs norm "post"');
  return {
    architectures: ['BertForMaskedLM'], model_type: 'bert', vocab_size: c.vocabSize, hidden_size: c.hidden, num_hidden_layers: c.layers,
    num_attention_heads: c.heads, intermediate_size: c.ffn, max_position_embeddings: c.maxPositions, type_vocab_size: c.typeVocabSize ?? 2,
    hidden_dropout_prob: c.dropout, attention_probs_dropout_prob: c.attentionDropout ?? c.dropout, layer_norm_eps: c.layerNormEps ?? 1e-12,
    initializer_range: c.initStd ?? 0.02, hidden_act: 'gelu', position_embedding_type: 'absolute',
  };
}

/**
 * Maps a checkpoint's tensor names to BertModel's: drops the "bert." prefix of task models, renames the
 * TensorFlow-era LayerNorm gamma/beta, and sets aside heads ("cls.*") and buffers (position_ids).
 */
export function mapBertTensorNames(tensors: Record<string, Tensor>): { encoder: Record<string, Tensor>; heads: Record<string, Tensor>; ignored: string[] } {
  const encoder: Record<string, Tensor> = {};
  const heads: Record<string, Tensor> = {};
  const ignored: string[] = [];
  for (const [raw, t] of Object.entries(tensors)) {
    let name = raw.replace(/^bert\./, '').replace(/\.gamma$/, '.weight').replace(/\.beta$/, '.bias');
    if (name.endsWith('position_ids')) { ignored.push(raw); continue; }
    if (name.startsWith('cls.')) { heads[name] = t; continue; }
    if (!/^(embeddings|encoder|pooler)\./.test(name)) { ignored.push(raw); continue; }
    encoder[name] = t;
  }
  return { encoder, heads, ignored };
}

export interface LoadedBert {
  config: BertConfig;
  model: BertModel;
  tokenizer: BertTokenizer;
  /** Tensors of task heads found in the checkpoint (for example the MLM head "cls.predictions.*"); owned by the caller. */
  heads: Record<string, Tensor>;
  report: LoadReport & { ignored: string[] };
}

/**
 * Loads a Hugging Face BERT folder into a BertModel and its tokenizer. A checkpoint without a pooler
 * (BertForMaskedLM) loads with a freshly initialised pooler, listed in `report.missing`; any other
 * missing, unexpected or mis-shaped tensor is an error naming it.
 */
export function loadBertCheckpoint(dir: string): LoadedBert {
  const config = readHfBertConfig(dir);
  const tokenizer = BertTokenizer.fromDirectory(dir);
  if (tokenizer.vocab.size > config.vocabSize) {
    throw new Error(`${dir}: vocab.txt has ${tokenizer.vocab.size} tokens but config.json's vocab_size is ${config.vocabSize}`);
  }
  const { weightsPath, tensors } = readWeights(dir);
  const { encoder, heads, ignored } = mapBertTensorNames(tensors);
  const model = new BertModel(config);
  let report: LoadReport;
  try {
    report = model.loadStateDict(encoder, { strict: false });
    const missing = report.missing.filter((n) => !n.startsWith('pooler.'));
    if (missing.length || report.unexpected.length) {
      throw new Error([missing.length ? `missing tensors: ${missing.join(', ')}` : '', report.unexpected.length ? `unexpected tensors: ${report.unexpected.join(', ')}` : ''].filter(Boolean).join('; '));
    }
  } catch (err) {
    model.dispose();
    for (const t of Object.values(tensors)) t.dispose();
    throw new Error(`${weightsPath}: does not fit the BERT described by config.json: ${(err as Error).message}`);
  }
  for (const t of Object.values(encoder)) t.dispose();
  for (const n of ignored) tensors[n]!.dispose();
  return { config, model, tokenizer, heads, report: { ...report, ignored } };
}

/** model.safetensors, or else pytorch_model.bin (read without Python or pickle execution). */
function readWeights(dir: string): { weightsPath: string; tensors: Record<string, Tensor> } {
  const st = join(dir, 'model.safetensors');
  if (existsSync(st)) return { weightsPath: st, tensors: loadSafetensors(st).tensors };
  const bin = join(dir, 'pytorch_model.bin');
  if (existsSync(bin)) return { weightsPath: bin, tensors: loadTorchCheckpoint(bin).tensors };
  throw new Error(`${dir}: no model.safetensors or pytorch_model.bin`);
}

/**
 * Writes a BertModel (and optional head tensors, named as Hugging Face's, e.g. "cls.predictions.bias")
 * with its vocabulary as a Hugging Face folder. Files are written atomically.
 */
export function saveBertCheckpoint(dir: string, model: BertModel, tokenizer: BertTokenizer, vocabPath: string, heads: Record<string, Tensor> = {}): void {
  mkdirSync(dir, { recursive: true });
  const tensors: Record<string, Tensor> = { ...heads };
  for (const [n, p] of model.namedParameters()) tensors[`bert.${n}`] = p;
  saveSafetensors(join(dir, 'model.safetensors'), tensors, { format: 'pt' });
  writeFileAtomic(join(dir, 'config.json'), JSON.stringify(toHfBertConfig(model.config), null, 2) + '\n');
  writeFileAtomic(join(dir, 'tokenizer_config.json'), JSON.stringify({
    tokenizer_class: 'BertTokenizer', do_lower_case: tokenizer.lowercase, model_max_length: model.config.maxPositions,
  }, null, 2) + '\n');
  if (vocabPath !== join(dir, 'vocab.txt')) writeFileAtomic(join(dir, 'vocab.txt'), readFileSync(vocabPath));
}
