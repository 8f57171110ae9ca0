// Training checkpoints: model tensors, optimizer state and trainer state in one folder, replaced
// atomically (write a new folder, then swap it in), so an interrupted save never corrupts the last one.
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { dirname, basename, join } from 'node:path';
import { loadSafetensors, saveSafetensors, type OptimizerState, type Tensor } from '../tensor/index.js';
import { writeFileAtomic } from '../util/fs.js';

export interface Checkpoint<S> {
  model: Record<string, Tensor>;
  optimizer: OptimizerState;
  state: S;
  /** Other files of the folder (e.g. config.json and vocab.txt, which make it a loadable model directory). */
  files?: Record<string, string | Uint8Array>;
}

const FILES = { model: 'model.safetensors', optimizer: 'optimizer.safetensors', state: 'trainer-state.json' };

/** Writes a checkpoint to `dir`, replacing any previous one there only once the new one is complete. */
export function saveCheckpoint<S>(dir: string, c: Checkpoint<S>): void {
  const parent = dirname(dir);
  mkdirSync(parent, { recursive: true });
  const tmp = join(parent, `.${basename(dir)}.tmp-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp);
  saveSafetensors(join(tmp, FILES.model), c.model);
  saveSafetensors(join(tmp, FILES.optimizer), c.optimizer.tensors, { meta: JSON.stringify(c.optimizer.meta) });
  for (const [name, data] of Object.entries(c.files ?? {})) writeFileAtomic(join(tmp, name), data);
  writeFileAtomic(join(tmp, FILES.state), JSON.stringify(c.state, null, 2) + '\n');
  const old = join(parent, `.${basename(dir)}.old-${process.pid}`);
  if (existsSync(dir)) renameSync(dir, old);
  renameSync(tmp, dir);
  rmSync(old, { recursive: true, force: true });
}

/** The folder a checkpoint can be read from: `dir`, or the previous one if a save died mid-swap. */
function resolveCheckpointDir(dir: string): string | null {
  if (existsSync(join(dir, FILES.state))) return dir;
  const parent = dirname(dir);
  if (!existsSync(parent)) return null;
  const old = readdirSync(parent).find((n) => n.startsWith(`.${basename(dir)}.old-`) && existsSync(join(parent, n, FILES.state)));
  return old ? join(parent, old) : null;
}

/** The folder holding the newest complete checkpoint of `dir` (itself, or the previous one after a crash mid-swap). */
export function checkpointDir(dir: string): string | null {
  return resolveCheckpointDir(dir);
}

export function hasCheckpoint(dir: string): boolean {
  return resolveCheckpointDir(dir) !== null;
}

/** Reads a checkpoint written by saveCheckpoint; errors name the folder and the bad file. */
export function loadCheckpoint<S>(dir: string): Checkpoint<S> {
  const at = resolveCheckpointDir(dir);
  if (!at) throw new Error(`${dir}: no checkpoint here (expected ${Object.values(FILES).join(', ')})`);
  let state: S;
  try {
    state = JSON.parse(readFileSync(join(at, FILES.state), 'utf8')) as S;
  } catch (err) {
    throw new Error(`${join(at, FILES.state)}: unreadable trainer state: ${(err as Error).message}`);
  }
  const model = loadSafetensors(join(at, FILES.model)).tensors;
  const opt = loadSafetensors(join(at, FILES.optimizer));
  let meta: OptimizerState['meta'];
  try {
    meta = JSON.parse(opt.metadata.meta ?? '') as OptimizerState['meta'];
  } catch {
    throw new Error(`${join(at, FILES.optimizer)}: missing or corrupt optimizer metadata`);
  }
  return { model, optimizer: { tensors: opt.tensors, meta }, state };
}
