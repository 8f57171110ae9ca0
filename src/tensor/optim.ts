// Adam and AdamW with parameter groups, and gradient clipping.
// Moments live in JS-owned tensors (so checkpoints can save them); the update loop runs natively.
import { native } from './native.js';
import { keep } from './scope.js';
import { noGrad } from './autograd.js';
import { zeros } from './create.js';
import type { Tensor } from './tensor.js';

export interface ParamGroup {
  params: Tensor[];
  lr?: number;
  weightDecay?: number;
  /** A name for logs and checkpoints (for example 'bert' or 'heads'). */
  name?: string;
}

export interface AdamOptions {
  lr: number;
  betas?: [number, number];
  eps?: number;
  weightDecay?: number;
}

interface GroupState {
  name: string;
  params: Tensor[];
  lr: number;
  initialLr: number;
  weightDecay: number;
  expAvg: (Tensor | null)[];
  expAvgSq: (Tensor | null)[];
  steps: number[];
}

/** Serializable optimizer state: tensors by name plus JSON metadata. */
export interface OptimizerState {
  tensors: Record<string, Tensor>;
  meta: { kind: string; groups: { name: string; lr: number; initialLr: number; weightDecay: number; steps: number[] }[] };
}

/**
 * Adam as torch.optim.Adam: weight decay is L2 added to the gradient (ORMA's official recipe).
 * AdamW below decouples it. Parameters whose gradient is missing are skipped.
 */
export class Adam {
  protected readonly groups: GroupState[];
  protected readonly beta1: number;
  protected readonly beta2: number;
  protected readonly eps: number;
  protected readonly decoupled: boolean = false;

  constructor(params: Tensor[] | ParamGroup[], o: AdamOptions) {
    [this.beta1, this.beta2] = o.betas ?? [0.9, 0.999];
    this.eps = o.eps ?? 1e-8;
    const groups: ParamGroup[] = params.length > 0 && !('params' in params[0]!) ? [{ params: params as Tensor[] }] : (params as ParamGroup[]);
    this.groups = groups.map((g, i) => {
      const lr = g.lr ?? o.lr;
      return {
        name: g.name ?? `group${i}`, params: g.params, lr, initialLr: lr, weightDecay: g.weightDecay ?? o.weightDecay ?? this.defaultWeightDecay(),
        expAvg: g.params.map(() => null), expAvgSq: g.params.map(() => null), steps: g.params.map(() => 0),
      };
    });
  }

  protected defaultWeightDecay(): number {
    return 0;
  }

  get groupNames(): string[] {
    return this.groups.map((g) => g.name);
  }

  /** Learning rate of each group. */
  get lrs(): number[] {
    return this.groups.map((g) => g.lr);
  }

  /** The lr each group started with; schedules scale this. */
  get initialLrs(): number[] {
    return this.groups.map((g) => g.initialLr);
  }

  setLr(group: number, lr: number): void {
    this.groups[group]!.lr = lr;
  }

  /** One update of every parameter that has a gradient. */
  step(): void {
    noGrad(() => {
      for (const g of this.groups) {
        const active: number[] = [];
        g.params.forEach((p, i) => {
          const grad = p.grad;
          if (!grad) return;
          grad.dispose();
          if (!g.expAvg[i]) {
            g.expAvg[i] = keep(zeros(p.shape, { dtype: p.dtype, device: p.device }));
            g.expAvgSq[i] = keep(zeros(p.shape, { dtype: p.dtype, device: p.device }));
          }
          g.steps[i]! += 1;
          active.push(i);
        });
        if (active.length === 0) continue;
        native.adamStep(
          active.map((i) => g.params[i]!.handle), active.map((i) => g.expAvg[i]!.handle), active.map((i) => g.expAvgSq[i]!.handle),
          active.map((i) => g.steps[i]!), g.lr, this.beta1, this.beta2, this.eps, g.weightDecay, this.decoupled,
        );
      }
    });
  }

  /** Clears every parameter's gradient. */
  zeroGrad(): void {
    for (const g of this.groups) native.zeroGrad(g.params.map((p) => p.handle));
  }

  /** All parameters of all groups. */
  parameters(): Tensor[] {
    return this.groups.flatMap((g) => g.params);
  }

  state(): OptimizerState {
    const tensors: Record<string, Tensor> = {};
    this.groups.forEach((g, gi) => g.params.forEach((_, pi) => {
      if (g.expAvg[pi]) {
        tensors[`${gi}.${pi}.exp_avg`] = g.expAvg[pi]!;
        tensors[`${gi}.${pi}.exp_avg_sq`] = g.expAvgSq[pi]!;
      }
    }));
    return {
      tensors,
      meta: { kind: this.constructor.name, groups: this.groups.map((g) => ({ name: g.name, lr: g.lr, initialLr: g.initialLr, weightDecay: g.weightDecay, steps: [...g.steps] })) },
    };
  }

  /** Restores moments and step counts saved by state(); the tensors are copied. */
  loadState(s: OptimizerState): void {
    if (s.meta.groups.length !== this.groups.length) {
      throw new Error(`optimizer state has ${s.meta.groups.length} parameter groups, this optimizer has ${this.groups.length}`);
    }
    this.groups.forEach((g, gi) => {
      const m = s.meta.groups[gi]!;
      if (m.steps.length !== g.params.length) throw new Error(`optimizer state group ${gi} has ${m.steps.length} parameters, expected ${g.params.length}`);
      g.lr = m.lr;
      g.initialLr = m.initialLr;
      g.steps = [...m.steps];
      g.params.forEach((p, pi) => {
        const a = s.tensors[`${gi}.${pi}.exp_avg`], b = s.tensors[`${gi}.${pi}.exp_avg_sq`];
        g.expAvg[pi]?.dispose();
        g.expAvgSq[pi]?.dispose();
        g.expAvg[pi] = a ? keep(a.clone()) : null;
        g.expAvgSq[pi] = b ? keep(b.clone()) : null;
        if (a && a.shape.join() !== p.shape.join()) throw new Error(`optimizer state ${gi}.${pi}: shape [${a.shape}] does not match the parameter's [${p.shape}]`);
      });
    });
  }

  /** Frees the moment tensors. */
  dispose(): void {
    for (const g of this.groups) for (const t of [...g.expAvg, ...g.expAvgSq]) t?.dispose();
  }
}

/** AdamW (decoupled weight decay, Loshchilov & Hutter); default weight decay 0.01 as in PyTorch. */
export class AdamW extends Adam {
  protected override readonly decoupled: boolean = true;
  protected override defaultWeightDecay(): number {
    return 0.01;
  }
}

/** Scales all gradients so their joint L2 norm is at most maxNorm; returns the norm before clipping. */
export function clipGradNorm(params: Tensor[], maxNorm: number): number {
  return native.clipGradNorm(params.map((p) => p.handle), maxNorm);
}
