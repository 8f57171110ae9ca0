// Module: a tree of named parameters and sub-modules, as torch.nn.Module.
// Parameter names follow the dotted paths of the tree ("encoder.layer.0.attention.self.query.weight"),
// which is also the checkpoint layout, so Hugging Face BERT checkpoints map onto ours directly.
import { keep, noGrad, tidy, loadSafetensors, saveSafetensors, type Device, type Tensor } from '../tensor/index.js';

export interface LoadOptions {
  /** Fail on missing or unexpected names (default true). */
  strict?: boolean;
}

export interface LoadReport {
  missing: string[];
  unexpected: string[];
}

export abstract class Module {
  training = true;
  private readonly params = new Map<string, Tensor>();
  private readonly children = new Map<string, Module>();

  /** Registers a trainable parameter; the module owns it until dispose(). */
  protected param(name: string, t: Tensor, trainable = true): Tensor {
    if (this.params.has(name) || this.children.has(name)) throw new Error(`${this.constructor.name}: '${name}' registered twice`);
    keep(t);
    if (trainable) t.requiresGrad_(true);
    this.params.set(name, t);
    return t;
  }

  /** Registers a sub-module under `name`. */
  protected module<M extends Module>(name: string, m: M): M {
    if (this.params.has(name) || this.children.has(name)) throw new Error(`${this.constructor.name}: '${name}' registered twice`);
    this.children.set(name, m);
    return m;
  }

  /** Every parameter with its dotted path, in registration order. */
  namedParameters(prefix = ''): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [n, p] of this.params) out.push([prefix + n, p]);
    for (const [n, c] of this.children) out.push(...c.namedParameters(`${prefix}${n}.`));
    return out;
  }

  parameters(): Tensor[] {
    return this.namedParameters().map(([, p]) => p);
  }

  numParameters(): number {
    return this.parameters().reduce((n, p) => n + p.numel, 0);
  }

  namedModules(prefix = ''): [string, Module][] {
    const out: [string, Module][] = [[prefix.replace(/\.$/, ''), this]];
    for (const [n, c] of this.children) out.push(...c.namedModules(`${prefix}${n}.`));
    return out;
  }

  /** Switches dropout and similar layers between training and evaluation behaviour. */
  train(on = true): this {
    this.training = on;
    for (const c of this.children.values()) c.train(on);
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  /**
   * Moves every parameter (and its gradient) to `device` in place, as torch.nn.Module.to: the parameter
   * objects stay the same, so an optimizer built before to() keeps updating them. Its moment estimates,
   * though, are made at its first step on the parameters' device then: call to() before training starts.
   */
  to(device: Device): this {
    for (const p of this.parameters()) p.moveTo_(device);
    return this;
  }

  /** Parameters by name. The tensors are the live parameters, not copies. */
  stateDict(): Record<string, Tensor> {
    return Object.fromEntries(this.namedParameters());
  }

  /** Copies tensors into the parameters of the same name, checking shapes. */
  loadStateDict(state: Record<string, Tensor>, o: LoadOptions = {}): LoadReport {
    const own = new Map(this.namedParameters());
    const missing = [...own.keys()].filter((k) => !(k in state));
    const unexpected = Object.keys(state).filter((k) => !own.has(k));
    const mismatched = [...own].filter(([k, p]) => k in state && state[k]!.shape.join() !== p.shape.join())
      .map(([k, p]) => `${k}: checkpoint [${state[k]!.shape.join(', ')}] vs model [${p.shape.join(', ')}]`);
    const strict = o.strict ?? true;
    const problems = [
      mismatched.length ? `shape mismatch:\n  ${mismatched.join('\n  ')}` : '',
      strict && missing.length ? `missing: ${missing.join(', ')}` : '',
      strict && unexpected.length ? `unexpected: ${unexpected.join(', ')}` : '',
    ].filter(Boolean);
    if (problems.length) throw new Error(`${this.constructor.name}.loadStateDict: ${problems.join('\n')}`);
    noGrad(() => tidy(() => {
      for (const [k, p] of own) if (k in state) p.copy_(state[k]!.to(p.dtype));
    }));
    return { missing, unexpected };
  }

  /** Saves the parameters to a safetensors file (atomically). */
  save(path: string, metadata: Record<string, string> = {}): void {
    saveSafetensors(path, this.stateDict(), metadata);
  }

  /** Loads parameters from a safetensors file written by save(). */
  load(path: string, o: LoadOptions = {}): LoadReport {
    const { tensors } = loadSafetensors(path);
    try {
      return this.loadStateDict(tensors, o);
    } catch (err) {
      throw new Error(`${path}: ${(err as Error).message}`);
    } finally {
      for (const t of Object.values(tensors)) t.dispose();
    }
  }

  /** Frees every parameter. The module is unusable afterwards. */
  dispose(): void {
    for (const p of this.params.values()) p.dispose();
    for (const c of this.children.values()) c.dispose();
  }
}

/** Modules in a list, registered as "0", "1", ... (as torch.nn.ModuleList). */
export class ModuleList<M extends Module> extends Module {
  readonly items: M[];
  constructor(items: M[]) {
    super();
    this.items = items.map((m, i) => this.module(String(i), m));
  }
  get length(): number {
    return this.items.length;
  }
}
