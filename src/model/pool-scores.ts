// The model's three-grain scores of many texts against many molecules, forward only, for retrieval over a
// pool (`orma eval --score fused`, rerank stages). The same function as `Orma.scores(...)` (scores.ts), pair by
// pair, but organised for a pool instead of a training batch:
//   - per-text and per-molecule quantities are computed once: each text's pooled token vector u (local
//     grain), the unit multi-token and unit motif vectors (OT costs), each molecule's atom and motif grams;
//   - a block of texts against a block of molecules is one matrix product per grain over their *real* rows
//     (ragged: texts and molecules are cut by offsets, nothing is padded), and native kernels
//     (native/src/pool.cc) finish every pair in cache: the grouped score, and for the mid grain IPOT at the
//     pair's real size (W pairs per SIMD lane group, plans bit-identical to ipotKernel's), the token →
//     motif assignment, the phrases and their grouped score;
//   - memory is bounded by the block budgets (one [rows, columns] similarity block at a time).
// Equal to `scores(...).fused` to float rounding (test/model/pool-scores.test.ts); a pair's score does not
// depend on the other texts or molecules of its block. Measurements: docs/evaluation.md.
import { cat, keep, layerNorm, localPoolScores, midPoolScores, noGrad, normalize, tensor, tidy, zeros, type Tensor } from '../tensor/index.js';
import { globalScores } from './scores.js';
import { OT_TIE_TOLERANCE } from './ot.js';
import { combineGrains, grainWeights, type GrainWeights } from './losses.js';
import type { Orma } from './orma.js';

/** Rows of many items in one [≥ Σ lengths, D] tensor: item i owns rows offsets[i] .. offsets[i] + lengths[i]. */
export interface RaggedRows {
  flat: Tensor;
  offsets: readonly number[];
  lengths: readonly number[];
}

/**
 * Encoded texts: sentence vectors [N, D] and the token / multi-token vectors of their real tokens (of every
 * token slot for a model with `slots`, whose real lengths are then `realLengths`).
 */
export interface PoolTexts {
  sentence: Tensor;
  tokens: RaggedRows;
  multiTokens: RaggedRows;
  realLengths?: readonly number[];
}

/** Encoded molecules: molecule vectors [M, D], atom and motif vectors (a molecule may have no motif). */
export interface PoolMolecules {
  molecule: Tensor;
  atoms: RaggedRows;
  motifs: RaggedRows;
}

export interface PoolScoreOptions {
  /** Most text rows (tokens) in one block (default 2048; a longer text is a block of its own). */
  rowBudget?: number;
  /** Most molecule columns (atoms) in one block (default 2048). */
  colBudget?: number;
  /** IPOT lanes: 0 (default) the widest this CPU has; 1, 2, 4 or 8 (tests). */
  lanes?: number;
  /** Molecule lists of at least this many keep their gathered blocks for the next call with the same list (default 256). */
  keepBlocksFrom?: number;
}

export interface PoolGrains {
  global: Tensor;
  local: Tensor | null;
  mid: Tensor | null;
  fused: Tensor;
}

const int64 = (values: readonly number[]) => tensor(Int32Array.from(values), { dtype: 'int32', shape: [values.length] }).long();

/** LN₀ as scores.ts: LayerNorm over the last dim without affine parameters. */
const ln0 = (x: Tensor) => layerNorm(x, [x.size(-1)], null, null, 1e-5);

/** Consecutive runs of `items` whose sizes sum to at most `budget` (one item at least). */
function runs(items: readonly number[], size: (i: number) => number, budget: number): number[][] {
  const out: number[][] = [];
  let cur: number[] = [], sum = 0;
  for (const i of items) {
    const s = size(i);
    if (cur.length && sum + s > budget) { out.push(cur); cur = []; sum = 0; }
    cur.push(i);
    sum += s;
  }
  if (cur.length) out.push(cur);
  return out;
}

/** The rows of `items` of a RaggedRows, one after the other, with their offsets (items.length + 1). */
function gatherRows(r: RaggedRows, items: readonly number[]): { rows: Tensor; offsets: number[] } {
  const offsets = [0];
  const total = items.reduce((n, i) => n + r.lengths[i]!, 0);
  const index = new Int32Array(total);
  let at = 0;
  for (const i of items) {
    for (let k = 0; k < r.lengths[i]!; k++) index[at++] = r.offsets[i]! + k;
    offsets.push(at);
  }
  const D = r.flat.size(1);
  const rows = total === 0 ? zeros([0, D]) : r.flat.indexSelect(0, tensor(index, { dtype: 'int32', shape: [total] }).long());
  return { rows, offsets };
}

/**
 * The rows of `items` padded to the longest (at least 1), one gather: x [items, width, D] (padding 0) and
 * mask [items, width] (int32, 1 for real rows; with `real`, for each item's first real[i] rows only).
 */
export function paddedRows(r: RaggedRows, items: readonly number[], real?: readonly number[]): { x: Tensor; mask: Tensor } {
  const width = Math.max(1, ...items.map((i) => r.lengths[i]!));
  const index = new Int32Array(items.length * width), present = new Float32Array(items.length * width), mask = new Int32Array(items.length * width);
  items.forEach((i, a) => {
    for (let k = 0; k < r.lengths[i]!; k++) {
      index[a * width + k] = r.offsets[i]! + k;
      present[a * width + k] = 1;
      mask[a * width + k] = real && k >= real[i]! ? 0 : 1;
    }
  });
  const shape = [items.length, width];
  const x = r.flat.indexSelect(0, tensor(index, { dtype: 'int32', shape: [index.length] }).long()).reshape(items.length, width, r.flat.size(1))
    .mul(tensor(present, { shape }).to(r.flat.dtype as 'float32').unsqueeze(-1));
  return { x, mask: tensor(mask, { dtype: 'int32', shape }) };
}

/** Every item's k × k gram (its rows times their transpose), flat, with each item's start. */
function grams(r: RaggedRows): { flat: Tensor; offsets: number[] } {
  const offsets: number[] = [];
  let at = 0;
  const parts = r.lengths.map((k, i) => {
    offsets.push(at);
    at += k * k;
    if (k === 0) return null;
    const x = r.flat.narrow(0, r.offsets[i]!, k);
    return x.matmul(x.transpose(0, 1)).reshape(k * k);
  }).filter((x): x is Tensor => x !== null);
  return { flat: keep(parts.length ? cat(parts, 0) : zeros([1])), offsets };
}

/**
 * Fused (and per-grain) scores of texts against molecules with `model`'s weights, grains and OT settings
 * (eval mode: every pair is a true pair). Holds the per-text and per-molecule precomputation until
 * `dispose()`; the vectors themselves stay the caller's.
 */
export class PoolScorer {
  private readonly weights: GrainWeights;
  private readonly cosine: boolean;
  private readonly scales: { global: Tensor | number; local: Tensor | number; mid: Tensor | number };
  private readonly atomGrams: { flat: Tensor; offsets: number[] } | null;
  private readonly motifGrams: { flat: Tensor; offsets: number[] } | null;
  private readonly unitMotifs: Tensor | null;
  private readonly slots: boolean;
  private readonly owned: Tensor[] = [];
  private readonly rowBudget: number;
  private readonly colBudget: number;
  private keptList: readonly number[] | null = null;
  private keptBlocks: MoleculeBlock[] = [];

  constructor(private readonly model: Orma, private readonly texts: PoolTexts, private readonly molecules: PoolMolecules, private readonly o: PoolScoreOptions = {}) {
    const c = model.config;
    this.weights = grainWeights(c.weights, c.combine);
    this.cosine = c.logitScale === 'learned';
    this.rowBudget = o.rowBudget ?? 2048;
    this.colBudget = o.colBudget ?? 2048;
    const s = noGrad(() => tidy(() => {
      const x = model.scales();
      const k = (v: Tensor | number) => (typeof v === 'number' ? v : keep(v.detach().clone()));
      return { global: k(x.global), local: k(x.local), mid: k(x.mid) };
    }));
    this.scales = s;
    for (const v of [s.global, s.local, s.mid]) if (typeof v !== 'number') this.owned.push(v);
    // the kernels' per-molecule precomputation (a model with slots scores through Orma.scores: slotBlock)
    this.slots = Boolean(c.slots);
    const local = this.weights.local !== 0 && !this.slots, mid = this.weights.mid !== 0 && !this.slots;
    this.atomGrams = local ? noGrad(() => tidy(() => grams(molecules.atoms))) : null;
    this.motifGrams = mid ? noGrad(() => tidy(() => grams(molecules.motifs))) : null;
    this.unitMotifs = mid ? keep(noGrad(() => tidy(() => normalize(molecules.motifs.flat, -1)))) : null;
    for (const g of [this.atomGrams, this.motifGrams]) if (g) this.owned.push(g.flat);
    if (this.unitMotifs) this.owned.push(this.unitMotifs);
  }

  /** Fused scores [texts.length, molecules.length] (float32), in the order given. */
  fused(texts: readonly number[], molecules: readonly number[]): Tensor {
    return this.run(texts, molecules, false).fused;
  }

  /** The same as row-major numbers. */
  fusedArray(texts: readonly number[], molecules: readonly number[]): Float32Array {
    return tidy(() => this.fused(texts, molecules).contiguous().toArray() as Float32Array);
  }

  /** Each grain's logits (scaled as in Orma.scores; null for a grain of weight 0) and their fused sum. */
  grains(texts: readonly number[], molecules: readonly number[]): PoolGrains {
    const g = this.run(texts, molecules, true);
    return { ...g, global: g.global! };
  }

  private run(texts: readonly number[], molecules: readonly number[], all: boolean): Parts {
    return noGrad(() => tidy(() => {
      const molBlocks = this.moleculeBlocks(molecules);   // kept ones outlive this scope
      const textRuns = runs(texts, (i) => this.texts.tokens.lengths[i]!, this.rowBudget);
      const rows = textRuns.map((tr) => tidy(() => {
        const block = this.textBlock(tr);
        const cols = molBlocks.map((mb) => tidy(() => this.block(block, mb, all)));
        return join(cols, 1);
      }));
      return join(rows, 0);
    }));
  }

  /** Per-text tensors of a block of texts: their token rows, pooled local vectors, multi-token rows. */
  private textBlock(items: number[]): TextBlock {
    const { weights } = this;
    const b: TextBlock = { items, sentence: this.texts.sentence.indexSelect(0, int64(items)) };
    if (this.slots) return b;
    if (weights.local !== 0) {
      const { rows, offsets } = gatherRows(this.texts.tokens, items);
      // u = LN₀(Σ_t norm(token_t)) over each text's real tokens (scores.ts groupedScores)
      const owner = new Int32Array(rows.size(0));
      items.forEach((_, a) => owner.fill(a, offsets[a]!, offsets[a + 1]!));
      const sums = zeros([items.length, rows.size(1)]).indexAdd(0, tensor(owner, { dtype: 'int32', shape: [owner.length] }).long(), normalize(rows, -1));
      Object.assign(b, { tokens: rows, tokenOffsets: int64(offsets), u: ln0(sums) });
    }
    if (weights.mid !== 0) {
      const { rows, offsets } = gatherRows(this.texts.multiTokens, items);
      Object.assign(b, { multi: rows, unitMulti: normalize(rows, -1), multiOffsets: int64(offsets) });
    }
    return b;
  }

  /**
   * The molecule side of every block of `molecules` (their rows gathered, offsets, gram starts). The blocks of
   * the last large list asked for are kept, so that scoring text blocks one after the other against a whole
   * pool (evaluate's rows) gathers each molecule's rows once, not once per text block.
   */
  private moleculeBlocks(molecules: readonly number[]): MoleculeBlock[] {
    if (this.keptList === molecules) return this.keptBlocks;
    const molRuns = runs(molecules, (j) => Math.max(1, this.molecules.atoms.lengths[j]!), this.colBudget);
    const keepThem = molecules.length >= (this.o.keepBlocksFrom ?? KEEP_MOLECULE_BLOCKS);
    const blocks = molRuns.map((mr) => {
      const b = tidy(() => this.moleculeBlock(mr));
      if (keepThem) for (const t of blockTensors(b)) keep(t);
      return b;
    });
    if (keepThem) {
      for (const b of this.keptBlocks) disposeBlock(b);
      this.keptList = molecules;
      this.keptBlocks = blocks;
    }
    return blocks;
  }

  private moleculeBlock(items: number[]): MoleculeBlock {
    const b: MoleculeBlock = { items, molecule: this.molecules.molecule.indexSelect(0, int64(items)) };
    if (this.slots) return b;
    if (this.weights.local !== 0) {
      const { rows, offsets } = gatherRows(this.molecules.atoms, items);
      const g = this.atomGrams!;
      Object.assign(b, { atoms: rows, atomOffsets: int64(offsets), atomGrams: int64(items.map((j) => g.offsets[j]!)) });
    }
    if (this.weights.mid !== 0) {
      const { rows, offsets } = gatherRows(this.molecules.motifs, items);
      const g = this.motifGrams!;
      Object.assign(b, {
        motifs: rows, unitMotifs: gatherRows({ ...this.molecules.motifs, flat: this.unitMotifs! }, items).rows,
        motifOffsets: int64(offsets), motifGrams: int64(items.map((j) => g.offsets[j]!)),
      });
    }
    return b;
  }

  private block(t: TextBlock, m: MoleculeBlock, all: boolean): Parts {
    const { weights, scales, cosine } = this;
    const c = this.model.config;
    if (this.slots) return this.slotBlock(t, m, all);
    const scaled = (x: Tensor, k: Tensor | number) => (k === 1 ? x : x.mul(k));
    const global = scaled(globalScores(t.sentence, m.molecule, { cosine }), scales.global);
    let local: Tensor | null = null, mid: Tensor | null = null;
    if (weights.local !== 0) {
      const sim = t.tokens!.matmul(m.atoms!.transpose(0, 1));
      local = scaled(localPoolScores(sim, t.tokenOffsets!, m.atomOffsets!, m.atoms!, this.atomGrams!.flat, m.atomGrams!, t.u!, cosine), scales.local);
    }
    if (weights.mid !== 0) {
      const cosT = m.unitMotifs!.matmul(t.unitMulti!.transpose(0, 1));   // [motif rows, token rows]: each motif's tokens contiguous
      mid = scaled(midPoolScores(cosT, t.multiOffsets!, m.motifOffsets!, t.multi!, m.motifs!, this.motifGrams!.flat, m.motifGrams!,
        { beta: c.otBeta, iterations: c.otIterations, pick: c.otPick, tieTolerance: OT_TIE_TOLERANCE, cosine, lanes: this.o.lanes }), scales.mid);
    }
    const fused = combineGrains({ global, ...(local ? { local } : {}), ...(mid ? { mid } : {}) }, weights);
    return all ? { global, local, mid, fused } : { global: null, local: null, mid: null, fused };
  }

  /**
   * A model with the official padded slots (config `slots`): the pool kernels know only masked padding, so
   * the block goes through the model's own scores (scores.ts, closed form over the slots) on padded tensors.
   */
  private slotBlock(t: TextBlock, m: MoleculeBlock, all: boolean): Parts {
    const real = this.texts.realLengths;
    if (!real) throw new Error('PoolScorer: a model with slots needs the texts encoded with every token slot (eval/retrieval.ts encodeTexts)');
    const tokens = paddedRows(this.texts.tokens, t.items, real), multi = paddedRows(this.texts.multiTokens, t.items);
    const atoms = paddedRows(this.molecules.atoms, m.items), motifs = paddedRows(this.molecules.motifs, m.items);
    const s = this.model.scores({ sentence: t.sentence, tokens: tokens.x, multiTokens: multi.x, mask: tokens.mask },
      { molecule: m.molecule, atoms: atoms.x, atomMask: atoms.mask, motifs: motifs.x, motifMask: motifs.mask });
    const { weights } = this;
    return all ? { global: s.global, local: weights.local === 0 ? null : s.local, mid: weights.mid === 0 ? null : s.mid, fused: s.fused }
      : { global: null, local: null, mid: null, fused: s.fused };
  }

  dispose(): void {
    for (const t of this.owned) t.dispose();
    this.owned.length = 0;
    for (const b of this.keptBlocks) disposeBlock(b);
    this.keptBlocks = [];
    this.keptList = null;
  }
}

/** Lists of at least this many molecules keep their blocks between calls (PoolScorer.moleculeBlocks). */
const KEEP_MOLECULE_BLOCKS = 256;

interface MoleculeBlock {
  items: number[];
  molecule: Tensor;
  atoms?: Tensor;
  atomOffsets?: Tensor;
  atomGrams?: Tensor;
  motifs?: Tensor;
  unitMotifs?: Tensor;
  motifOffsets?: Tensor;
  motifGrams?: Tensor;
}

function blockTensors(b: MoleculeBlock): Tensor[] {
  return [b.molecule, b.atoms, b.atomOffsets, b.atomGrams, b.motifs, b.unitMotifs, b.motifOffsets, b.motifGrams].filter((t): t is Tensor => t !== undefined);
}

function disposeBlock(b: MoleculeBlock): void {
  for (const t of blockTensors(b)) t.dispose();
}

interface TextBlock {
  items: number[];
  sentence: Tensor;
  tokens?: Tensor;
  tokenOffsets?: Tensor;
  u?: Tensor;
  multi?: Tensor;
  unitMulti?: Tensor;
  multiOffsets?: Tensor;
}

type Parts = { global: Tensor | null; local: Tensor | null; mid: Tensor | null; fused: Tensor };

function join(parts: Parts[], dim: number): Parts {
  if (parts.length === 1) return parts[0]!;
  const pick = (k: keyof Parts) => (parts[0]![k] ? cat(parts.map((p) => p[k]!), dim) : null);
  return { global: pick('global'), local: pick('local'), mid: pick('mid'), fused: pick('fused')! };
}
