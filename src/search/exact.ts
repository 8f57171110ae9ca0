// Stage 1: exact top-K by matrix products over the stored vectors, in blocks of rows (a float16 matrix is
// widened to float32 one block at a time, so a large library never needs a float32 copy).
import { noGrad, tensor, tidy, type Tensor } from '../tensor/index.js';

export interface TopK {
  /** Matrix rows, best first (ties by row). */
  rows: number[];
  scores: number[];
}

export const DEFAULT_BLOCK_ROWS = 1 << 16;

/**
 * The k rows of `matrix` [R, D] with the largest dot product with `query` [D]; `subset` restricts the
 * search to those rows. Exact (every row is scored).
 */
export function exactTopK(matrix: Tensor, query: Float32Array, k: number, o: { subset?: Int32Array; blockRows?: number } = {}): TopK {
  const R = o.subset ? o.subset.length : matrix.size(0), D = matrix.size(1);
  if (query.length !== D) throw new Error(`exactTopK: query has ${query.length} dims, the index ${D}`);
  const kk = Math.min(k, R);
  if (kk <= 0) return { rows: [], scores: [] };
  const block = o.blockRows ?? DEFAULT_BLOCK_ROWS;
  const cand: { row: number; score: number }[] = [];
  noGrad(() => tidy(() => {
    const q = tensor(query, { shape: [D, 1] });
    for (let start = 0; start < R; start += block) {
      tidy(() => {
        const len = Math.min(block, R - start);
        const rows = o.subset ? matrix.indexSelect(0, tensor(o.subset.subarray(start, start + len), { dtype: 'int32' }).long()) : matrix.narrow(0, start, len);
        const scores = (rows.dtype === 'float32' ? rows : rows.to('float32')).matmul(q).reshape(len);
        const top = scores.topk(Math.min(kk, len));
        const v = top.values.toNumbers(), ix = top.indices.toNumbers();
        for (let i = 0; i < v.length; i++) cand.push({ row: o.subset ? o.subset[start + ix[i]!]! : start + ix[i]!, score: v[i]! });
      });
    }
  }));
  cand.sort((a, b) => b.score - a.score || a.row - b.row);
  const best = cand.slice(0, kk);
  return { rows: best.map((c) => c.row), scores: best.map((c) => c.score) };
}
