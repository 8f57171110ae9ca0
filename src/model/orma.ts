// ORMA: a text encoder and a hierarchical molecule encoder aligned at three grains (orma-reference.md).
// Our version differs from the official code where reference §12 lists defects, each behind a switch:
// scores are computed for every text-molecule pair, padding is masked, OT assigns by argmax, and every
// loss reaches the GNN (`detachNodeVectors: true` restores the official detaching).
import { tensor, type Tensor } from '../tensor/index.js';
import { Linear, Module, type BertConfig, type BertModel } from '../nn/index.js';
import type { PaddedBatch } from '../text/padding.js';
import { MoleculeEncoder, type MoleculeEncoderConfig } from './molecule-encoder.js';
import { TextEncoder, type TextVectors } from './text-encoder.js';
import type { GraphBatch } from './graph-batch.js';
import { globalScores, groupedScores, midScores, symmetricInfoNce } from './scores.js';

export interface OrmaConfig {
  /** Shared embedding size (300 in the paper). */
  dim: number;
  molecule: MoleculeEncoderConfig;
  /** Weights of the global, local (token–atom) and mid (multitoken–motif) grains; 0.3 / 0.5 / 0.2 as published. */
  weights: { global: number; local: number; mid: number };
  otPick: 'argmax' | 'argmin';
  detachNodeVectors: boolean;
}

export const DEFAULT_ORMA: OrmaConfig = {
  dim: 256,
  molecule: { hidden: 256, layers: 3, dropout: 0.1 },
  weights: { global: 0.3, local: 0.5, mid: 0.2 },
  otPick: 'argmax',
  detachNodeVectors: false,
};

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
  /** The weighted sum: the retrieval score. */
  fused: Tensor;
}

export class Orma extends Module {
  readonly text: TextEncoder;
  readonly molecules: MoleculeEncoder;
  readonly moleculeHead: Linear;
  readonly atomHead: Linear;
  readonly motifHead: Linear;

  constructor(readonly config: OrmaConfig, bert: BertModel | BertConfig) {
    super();
    this.text = this.module('text', new TextEncoder(bert, config.dim));
    this.molecules = this.module('molecule', new MoleculeEncoder(config.molecule));
    const h = config.molecule.hidden;
    this.moleculeHead = this.module('molecule_head', new Linear(h, config.dim));
    this.atomHead = this.module('atom_head', new Linear(h, config.dim));
    this.motifHead = this.module('motif_head', new Linear(h, config.dim));
  }

  encodeText(batch: PaddedBatch): TextVectors {
    return this.text.forward(batch);
  }

  encodeMolecules(b: GraphBatch): MoleculeVectors {
    const nodes = this.molecules.forward(b);
    const fine = this.config.detachNodeVectors ? nodes.detach() : nodes;
    const gather = (index: Int32Array, k: number, from: Tensor) =>
      from.indexSelect(0, tensor(index, { dtype: 'int32', shape: [index.length] }).long()).reshape(b.graphs, k, from.size(1));
    return {
      molecule: this.moleculeHead.forward(nodes.indexSelect(0, tensor(b.moleculeIndex, { dtype: 'int32', shape: [b.graphs] }).long())),
      atoms: this.atomHead.forward(gather(b.atomIndex, b.maxAtoms, fine)),
      atomMask: tensor(b.atomMask, { dtype: 'uint8', shape: [b.graphs, b.maxAtoms] }).bool(),
      motifs: this.motifHead.forward(gather(b.motifIndex, b.maxMotifs, fine)),
      motifMask: tensor(b.motifMask, { dtype: 'uint8', shape: [b.graphs, b.maxMotifs] }).bool(),
    };
  }

  /** Scores of every text against every molecule, [Bt, Bm] per grain and fused. */
  scores(t: TextVectors, m: MoleculeVectors): GrainScores {
    const w = this.config.weights;
    const global = globalScores(t.sentence, m.molecule);
    const local = groupedScores(t.tokens, t.mask, m.atoms, m.atomMask);
    const mid = midScores(t.multiTokens, t.mask, m.motifs, m.motifMask, { pick: this.config.otPick });
    return { global, local, mid, fused: global.mul(w.global).add(local.mul(w.local)).add(mid.mul(w.mid)) };
  }

  /** The training loss: weighted symmetric InfoNCE of each grain over in-batch pairs (text i ↔ molecule i). */
  loss(s: GrainScores): { total: Tensor; global: Tensor; local: Tensor; mid: Tensor } {
    const w = this.config.weights;
    const global = symmetricInfoNce(s.global), local = symmetricInfoNce(s.local), mid = symmetricInfoNce(s.mid);
    return { total: global.mul(w.global).add(local.mul(w.local)).add(mid.mul(w.mid)), global, local, mid };
  }
}
