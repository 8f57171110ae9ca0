// Why a text and a molecule score as they do: the text's tokens, the molecule's motifs (atom indices of
// its canonical SMILES), the IPOT plan between multi-token vectors and motif vectors (cost 1 − cos, the
// model's β and iterations), each token's motif, the three grain logits and the fused score, all for
// one pair and through the model's own functions (encodeText, encodeMolecules, ipotPlan, assignTokens,
// scores), so the numbers are the ones retrieval uses.
import { noGrad, normalize, ones, tidy } from '../tensor/index.js';
import { motifLists, type HierGraph } from '../chem/hiergraph.js';
import { padSequences } from '../text/padding.js';
import { batchGraphs } from '../data/graph-batch.js';
import type { OrmaBundle } from '../model/factory.js';
import { assignTokens, ipotPlan } from '../model/ot.js';

export interface Explanation {
  text: string;
  /** Canonical SMILES: the atom indices of `motifs` refer to it. */
  smiles: string;
  /** The word pieces the model saw, [CLS] and [SEP] included (after truncation to the model's length). */
  tokens: string[];
  /** Atom indices of each motif; a molecule without motifs has one, all its atoms (`wholeMolecule`). */
  motifs: number[][];
  /** True when the molecule has no motifs and its molecule node stood in as its one motif. */
  wholeMolecule: boolean;
  /** tokens × motifs transport plan (rows of [CLS]/[SEP] included: the model aligns them too). */
  plan: number[][];
  /** Each token's motif (the plan's argmax, or argmin for 'official' models); -1 for [CLS]/[SEP] and when there are no motifs. */
  tokenMotif: number[];
  /** The motif the model assigns each token, [CLS] and [SEP] included (-1 only when there are no motifs). */
  assignedMotif: number[];
  /** The three grain logits of the pair (the model's scaled scores). */
  grains: { global: number; local: number; mid: number };
  /** Their weighted sum: the retrieval score of stage 2. */
  fused: number;
  /** True when the text was longer than the model's maximum length (the tail was not seen). */
  truncated: boolean;
}

export function explainPair(b: OrmaBundle, text: string, graph: HierGraph): Explanation {
  if (b.config.orma.slots) throw new Error('explainPair: models with the official padded slots (orma.slots) are not explained (masked padding only)');
  const enc = b.tokenizer.encode(text, { maxLength: b.config.tokenizer.maxLength, returnTokens: true });
  const tokens = enc.tokens!;
  const special = new Set([b.tokenizer.special.cls, b.tokenizer.special.sep, b.tokenizer.special.pad]);
  const oneMotif = b.config.orma.zeroMotifs === 'molecule';
  const wholeMolecule = graph.numMotifs === 0 && oneMotif;
  const motifs = wholeMolecule ? [Array.from({ length: graph.numAtoms }, (_, i) => i)] : motifLists(graph);
  const m = motifs.length, n = enc.ids.length;
  const r = noGrad(() => tidy(() => {
    const tv = b.model.encodeText(padSequences([enc.ids], b.tokenizer.special.pad));
    const mv = b.model.encodeMolecules(batchGraphs([graph]));
    const s = b.model.scores(tv, mv);
    const grains = { global: s.global.item(), local: s.local.item(), mid: s.mid.item() };
    const fused = s.fused.item();
    if (m === 0) return { grains, fused, plan: [] as number[], assign: [] as number[] };
    // the mid grain's alignment of this pair: multi-token vectors against the molecule's real motifs
    const q = normalize(tv.multiTokens.narrow(1, 0, n), -1), k = normalize(mv.motifs.narrow(1, 0, m), -1);
    const cost = q.matmul(k.transpose(1, 2)).rsub(1);                             // [1, n, m]
    const masks = { rowMask: ones([1, n]), colMask: ones([1, m]) };
    const planT = ipotPlan(cost, { ...masks, beta: b.config.orma.otBeta, iterations: b.config.orma.otIterations });
    const assign = assignTokens(planT, b.config.orma.otPick, masks);
    return { grains, fused, plan: planT.contiguous().toNumbers(), assign: assign.toNumbers() };
  }));
  const plan = Array.from({ length: m === 0 ? 0 : n }, (_, i) => r.plan.slice(i * m, (i + 1) * m));
  const assignedMotif = m === 0 ? new Array<number>(n).fill(-1) : r.assign;
  const tokenMotif = assignedMotif.map((a, i) => (special.has(enc.ids[i]!) ? -1 : a));
  return { text, smiles: graph.smiles, tokens, motifs, wholeMolecule, plan, tokenMotif, assignedMotif, grains: r.grains, fused: r.fused, truncated: enc.truncated };
}
