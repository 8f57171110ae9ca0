// Default sizes of orma's own models, trained here from scratch (no pretrained weights can be downloaded).
import type { BertConfig } from '../nn/index.js';

/**
 * The default text encoder: a 4-layer, 256-wide BERT (about 6M parameters with the 8k vocabulary).
 * Sized so that pre-training and ORMA training fit in a few hours on 2 CPU cores; see the benchmarks.
 */
export const DEFAULT_TEXT_ENCODER: Omit<BertConfig, 'vocabSize'> = {
  hidden: 256, layers: 4, heads: 4, ffn: 1024, maxPositions: 512, dropout: 0.1,
};
