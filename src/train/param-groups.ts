// Parameter groups for AdamW, shared by every trainer: weight decay only on matrices (rank ≥ 2) that are
// not embedding tables (BERT's and CLIP's recipe: no decay on biases, norms, scales or embeddings), and an
// optional learning rate per part of the model (ORMA's recipe: the text encoder slower than the rest).
import type { ParamGroup, Tensor } from '../tensor/index.js';

export interface GroupRule {
  /** Group name prefix in logs and checkpoints, e.g. 'text' or 'rest'. */
  name: string;
  /** Which parameters (by their dotted name) belong to this part; the last rule should match everything left. */
  match: (name: string) => boolean;
  lr?: number;
}

/** True for parameters that get no weight decay: rank < 2 (biases, norms, scalars) or an embedding table. */
export function isNoDecay(name: string, p: Tensor): boolean {
  return p.ndim < 2 || /(^|[._])embeddings?([._]|$)/.test(name) || name.includes('embeddings.');
}

/**
 * Splits named parameters into `<part>.decay` / `<part>.no_decay` groups (empty groups are left out).
 * Without `parts`, one part named 'all'. Every parameter lands in exactly one group, in the given order.
 */
export function paramGroups(named: readonly [string, Tensor][], o: { weightDecay: number; parts?: GroupRule[] }): ParamGroup[] {
  const parts = o.parts ?? [{ name: 'all', match: () => true }];
  const groups: ParamGroup[] = [];
  const taken = new Set<string>();
  for (const part of parts) {
    const mine = named.filter(([n]) => !taken.has(n) && part.match(n));
    mine.forEach(([n]) => taken.add(n));
    const decay = mine.filter(([n, p]) => !isNoDecay(n, p)).map(([, p]) => p);
    const noDecay = mine.filter(([n, p]) => isNoDecay(n, p)).map(([, p]) => p);
    const lr = part.lr === undefined ? {} : { lr: part.lr };
    if (decay.length) groups.push({ name: `${part.name}.decay`, params: decay, weightDecay: o.weightDecay, ...lr });
    if (noDecay.length) groups.push({ name: `${part.name}.no_decay`, params: noDecay, weightDecay: 0, ...lr });
  }
  const left = named.filter(([n]) => !taken.has(n)).map(([n]) => n);
  if (left.length) throw new Error(`paramGroups: no rule matches ${left.slice(0, 5).join(', ')}${left.length > 5 ? ', ...' : ''}`);
  return groups;
}
