// ORMA: a text encoder and a hierarchical molecule encoder aligned at three grains (orma-reference.md).
// Our version differs from the official code where reference §12 lists defects, each behind a switch
// (`OFFICIAL_SWITCHES` in config.ts restores the published behaviour): scores are computed for every
// text-molecule pair, padding is masked, OT assigns by argmax, every loss reaches the GNN, and each grain
// has a learnable temperature on cosine scores (the official fine-grained logits are D · correlation,
// an effective temperature of 1/D that no parameter can change).
import { full, type Tensor } from '../tensor/index.js';
import { Linear, Module, type BertConfig, type BertModel } from '../nn/index.js';
import { padTo, type PaddedBatch } from '../text/padding.js';
import type { GraphBatch } from '../data/graph-batch.js';
import { MoleculeEncoder, type MoleculeEncoderConfig } from './molecule-encoder.js';
import type { Mol2vecTable } from './mol2vec.js';
import { TextEncoder, type TextVectors } from './text-encoder.js';
import { globalScores, localScores, localScoresSameSlot, midScores, midScoresSameSlot, type ChunkOptions } from './scores.js';
import { combineGrains, grainWeights, symmetricInfoNce, type Combine, type GrainWeights } from './losses.js';

export interface OrmaConfig {
  /** Shared embedding size (300 in the paper). */
  dim: number;
  molecule: MoleculeEncoderConfig;
  /** Weights of the global, local (token–atom) and mid (multitoken–motif) grains; 0.3 / 0.5 / 0.2 as published. */
  weights: GrainWeights;
  /** Which grains the loss and the retrieval score use (the official `--combine` ablation). */
  combine: Combine;
  /**
   * 'learned': each grain's logits are a cosine times a learnable scale (CLIP: starts at 1/0.07, at most
   * 100). 'official': raw dot products (sentence · molecule; ≈ D · correlation for the fine grains).
   */
  logitScale: 'learned' | 'official';
  otPick: 'argmax' | 'argmin';
  /** IPOT proximal step and iterations (0.5 and 50 as published). */
  otBeta: number;
  otIterations: number;
  /** Official behaviour: atom and motif vectors detached from the GNN (reference §12 item 1). */
  detachNodeVectors: boolean;
  /**
   * What a molecule without motifs scores at the mid grain: 'molecule' treats its molecule node as its
   * single motif (a one-motif molecule); 'none' leaves it without keys, a score of exactly 0.
   */
  zeroMotifs: 'molecule' | 'none';
  /** Official behaviour: every vector × exp(temp), temp learnable from 0.07 (only the global logits feel it). */
  expTemp: boolean;
  /**
   * 'all': the fine grains are computed for every (text, molecule) pair. 'same-slot': only for the pairs
   * of the same batch slot, as the official code trains (reference §12 item 4; paired batches, training
   * mode only: in eval mode every pair is scored, since same-slot scores leak the answer at evaluation).
   */
  pairing: 'all' | 'same-slot';
  /**
   * Official behaviour (reference §12 item 5): the fine grains' sums, min-max ranges and OT marginals run over
   * fixed slots, padding included: texts padded to `tokens` slots (BERT's outputs at the pad positions count),
   * molecules to `atoms` and `motifs` slots holding the heads' vectors of the official 1e-8 padding
   * (256 / 580 / 140 as published: OFFICIAL_SLOTS). null (or absent, in older models): padding is masked.
   * Computed in closed form at the real sizes (scores.ts SlotPadding); the text encoder runs on every slot.
   */
  slots?: OrmaSlots | null;
}

/** Slot counts of the official padding (config `slots`). */
export interface OrmaSlots {
  tokens: number;
  atoms: number;
  motifs: number;
}

export interface MoleculeVectors {
  /** [B, D] */
  molecule: Tensor;
  /** [B, maxAtoms, D] and [B, maxAtoms] */
  atoms: Tensor;
  atomMask: Tensor;
  /** [B, maxMotifs, D] and [B, maxMotifs] */
  motifs: Tensor;
  motifMask: Tensor;
}

export interface GrainScores {
  global: Tensor;
  local: Tensor;
  mid: Tensor;
  /** The weighted sum of the grains' logits: the retrieval score. */
  fused: Tensor;
}

export interface GrainLosses {
  total: Tensor;
  global: Tensor;
  local: Tensor;
  mid: Tensor;
}

/** CLIP's initial temperature and its cap on the logit scale. */
const INIT_LOGIT_SCALE = Math.log(1 / 0.07), MAX_LOGIT_SCALE = Math.log(100);

export class Orma extends Module {
  readonly text: TextEncoder;
  readonly molecules: MoleculeEncoder;
  readonly moleculeHead: Linear;
  readonly atomHead: Linear;
  readonly motifHead: Linear;
  /** [3] log logit scales of the global, local and mid grains ('learned'), or the official temp ([1]). */
  readonly logitScale: Tensor | null;
  readonly temp: Tensor | null;

  /** `o.mol2vec`: the Mol2vec table, needed when `config.molecule.atomInput` is 'mol2vec'. */
  constructor(readonly config: OrmaConfig, bert: BertModel | BertConfig, o: { mol2vec?: Mol2vecTable } = {}) {
    super();
    this.text = this.module('text', new TextEncoder(bert, config.dim));
    this.molecules = this.module('molecule', new MoleculeEncoder(config.molecule, o.mol2vec));
    const h = config.molecule.hidden;
    this.moleculeHead = this.module('molecule_head', new Linear(h, config.dim));
    this.atomHead = this.module('atom_head', new Linear(h, config.dim));
    this.motifHead = this.module('motif_head', new Linear(h, config.dim));
    this.logitScale = config.logitScale === 'learned' ? this.param('logit_scale', full([3], INIT_LOGIT_SCALE)) : null;
    this.temp = config.expTemp ? this.param('temp', full([1], 0.07)) : null;
    const slots = config.slots ?? null;
    if (slots) {
      for (const k of ['tokens', 'atoms', 'motifs'] as const) {
        if (!Number.isInteger(slots[k]) || slots[k] < 1) throw new Error(`orma.slots.${k}: a positive integer, got ${JSON.stringify(slots[k])}`);
      }
    }
  }

  /** Text vectors; with `slots`, of every token slot (the batch padded to slots.tokens with the [PAD] id 0, masked as keys). */
  encodeText(batch: PaddedBatch): TextVectors {
    const slots = this.config.slots;
    if (slots && batch.seqLength > slots.tokens) throw new Error(`orma.slots: a text of ${batch.seqLength} tokens does not fit ${slots.tokens} token slots (set the tokenizer's maxLength to at most ${slots.tokens})`);
    return this.text.forward(slots ? padTo(batch, slots.tokens, 0) : batch);
  }

  /** The atom and motif vectors of a padded slot (the heads applied to the official 1e-8 padding), [D] each. */
  padVectors(): { atom: Tensor; motif: Tensor } {
    const pad = full([1, this.config.molecule.hidden], 1e-8);
    return { atom: this.atomHead.forward(pad).reshape(-1), motif: this.motifHead.forward(pad).reshape(-1) };
  }

  encodeMolecules(b: GraphBatch): MoleculeVectors {
    const nodes = this.molecules.forward(b);
    const fine = this.config.detachNodeVectors ? nodes.detach() : nodes;
    const oneMotif = this.config.zeroMotifs === 'molecule';
    const gather = (index: Tensor, k: number, head: Linear) => head.forward(fine.indexSelect(0, index)).reshape(b.graphs, k, this.config.dim);
    return {
      molecule: this.moleculeHead.forward(nodes.indexSelect(0, b.moleculeIndex)),
      atoms: gather(b.atomIndex, b.maxAtoms, this.atomHead),
      atomMask: b.atomMask,
      motifs: gather(oneMotif ? b.motifOrMoleculeIndex : b.motifIndex, b.maxMotifs, this.motifHead),
      motifMask: oneMotif ? b.motifOrMoleculeMask : b.motifMask,
    };
  }

  /** The multiplier of each grain's scores: exp(learned scale) (capped at 100), or 1 (official). */
  scales(): { global: Tensor | number; local: Tensor | number; mid: Tensor | number } {
    if (this.logitScale) {
      const s = this.logitScale.clamp(-Infinity, MAX_LOGIT_SCALE).exp();
      return { global: s.select(0, 0), local: s.select(0, 1), mid: s.select(0, 2) };
    }
    return { global: this.temp ? this.temp.mul(2).exp() : 1, local: 1, mid: 1 };
  }

  /** Logits of every text against every molecule, [Bt, Bm] per grain and fused. */
  scores(t: TextVectors, m: MoleculeVectors, o: ChunkOptions & { grains?: 'all' | 'global' } = {}): GrainScores {
    const c = this.config, cosine = c.logitScale === 'learned';
    const weights = grainWeights(c.weights, c.combine);
    const s = this.scales();
    const scaled = (x: Tensor, k: Tensor | number) => (k === 1 ? x : x.mul(k));
    const global = scaled(globalScores(t.sentence, m.molecule, { cosine }), s.global);
    if (o.grains === 'global') return { global, local: global.mul(0), mid: global.mul(0), fused: global };
    // same-slot pairing shapes the training loss only; evaluation and search always score true pairs
    const sameSlot = (c.pairing ?? 'all') === 'same-slot' && this.training;
    if (sameSlot && t.sentence.size(0) !== m.molecule.size(0)) throw new Error(`pairing 'same-slot' needs paired batches (${t.sentence.size(0)} texts, ${m.molecule.size(0)} molecules)`);
    const localFn = sameSlot ? localScoresSameSlot : localScores, midFn = sameSlot ? midScoresSameSlot : midScores;
    const pads = c.slots ? this.padVectors() : null;
    const slots = (keys: number, padKey: Tensor | undefined) => (padKey ? { slots: { keys, padKey } } : {});
    const local = weights.local === 0 ? global.mul(0) : scaled(localFn(t.tokens, t.mask, m.atoms, m.atomMask,
      { cosine, budget: o.budget, ...slots(c.slots?.atoms ?? 0, pads?.atom) }), s.local);
    const mid = weights.mid === 0 ? global.mul(0) : scaled(midFn(t.multiTokens, t.mask, m.motifs, m.motifMask,
      { pick: c.otPick, beta: c.otBeta, iterations: c.otIterations, cosine, budget: o.budget, ...slots(c.slots?.motifs ?? 0, pads?.motif) }), s.mid);
    return { global, local, mid, fused: combineGrains({ global, local, mid }, weights) };
  }

  /** The training loss: weighted symmetric InfoNCE of each grain over in-batch pairs (text i ↔ molecule i; see symmetricInfoNce for `alsoPositive`). */
  loss(s: GrainScores, alsoPositive?: Tensor): GrainLosses {
    const weights = grainWeights(this.config.weights, this.config.combine);
    const nce = (x: Tensor) => symmetricInfoNce(x, alsoPositive);
    const global = nce(s.global), local = nce(s.local), mid = nce(s.mid);
    return { total: combineGrains({ global, local, mid }, weights), global, local, mid };
  }
}
