// Every default configuration of orma's models in one place (open_clip's model_configs/): the text
// encoder trained here from scratch, the ORMA model with our fixes, and the switches that reproduce the
// official code. Sized so that training fits in a few hours on 2 CPU cores (docs/model.md).
import type { BertConfig } from '../nn/index.js';
import type { OrmaConfig } from './orma.js';

/** The default text encoder: a 4-layer, 256-wide BERT (about 6M parameters with the 8k vocabulary). */
export const DEFAULT_TEXT_ENCODER: Omit<BertConfig, 'vocabSize'> = {
  hidden: 256, layers: 4, heads: 4, ffn: 1024, maxPositions: 512, dropout: 0.1,
};

/** Our ORMA: every defect of reference §12 fixed, a learnable temperature per grain. */
export const DEFAULT_ORMA: OrmaConfig = {
  dim: 256,
  molecule: { hidden: 256, layers: 3, dropout: 0.1 },
  weights: { global: 0.3, local: 0.5, mid: 0.2 },
  combine: 'weighted',
  logitScale: 'learned',
  otPick: 'argmax',
  otBeta: 0.5,
  otIterations: 50,
  detachNodeVectors: false,
  zeroMotifs: 'molecule',
  expTemp: false,
  pairing: 'all',
  slots: null,
};

/** The official code's fixed slots: 256 tokens, 580 atoms, 140 motifs (reference §2, §4; config `slots`). */
export const OFFICIAL_SLOTS = { tokens: 256, atoms: 580, motifs: 140 } as const;

/**
 * The published code's behaviour (reference §12): argmin assignment, detached atom/motif vectors, raw
 * dot-product logits with the exp(temp) multiplier, zero-motif molecules scoring 0 at the mid grain,
 * fine grains for same-slot pairs only, sums and OT marginals over the fixed 256/580/140 slots.
 */
export const OFFICIAL_SWITCHES: Partial<OrmaConfig> = {
  otPick: 'argmin', detachNodeVectors: true, logitScale: 'official', expTemp: true, zeroMotifs: 'none', pairing: 'same-slot', slots: OFFICIAL_SLOTS,
};

/** Named presets for configs and the CLI. */
export const ORMA_PRESETS: Record<'default' | 'official', OrmaConfig> = {
  default: DEFAULT_ORMA,
  official: { ...DEFAULT_ORMA, ...OFFICIAL_SWITCHES },
};
