// Learning-rate schedules: a factor of the initial lr per optimizer step.
import type { Adam } from './optim.js';

export type Schedule = (step: number) => number;

/** Linear warm-up from 0 to 1 over `warmup` steps, then linear decay to 0 at `total` (HF get_linear_schedule_with_warmup). */
export function linearWarmupDecay(warmup: number, total: number): Schedule {
  return (step) => {
    if (step < warmup) return step / Math.max(1, warmup);
    return Math.max(0, (total - step) / Math.max(1, total - warmup));
  };
}

/** Linear warm-up, then a half cosine from 1 down to `minRatio` at `total`. */
export function cosineWithWarmup(warmup: number, total: number, minRatio = 0): Schedule {
  return (step) => {
    if (step < warmup) return step / Math.max(1, warmup);
    const progress = Math.min(1, (step - warmup) / Math.max(1, total - warmup));
    return minRatio + (1 - minRatio) * 0.5 * (1 + Math.cos(Math.PI * progress));
  };
}

export function constant(): Schedule {
  return () => 1;
}

/** Applies a schedule to every group of an optimizer: lr = initialLr · schedule(step). */
export class LRScheduler {
  private stepCount = 0;
  constructor(private readonly optimizer: Adam, private readonly schedule: Schedule, startStep = 0) {
    this.stepCount = startStep;
    this.apply();
  }
  /** Advances one step (call after optimizer.step()). */
  step(): void {
    this.stepCount += 1;
    this.apply();
  }
  get currentStep(): number {
    return this.stepCount;
  }
  private apply(): void {
    const f = this.schedule(this.stepCount);
    this.optimizer.initialLrs.forEach((lr0, i) => this.optimizer.setLr(i, lr0 * f));
  }
}
