// ORMA training, read top to bottom (nanoGPT's train.py): data, model, optimizer, schedule, then the loop
// with validation, checkpoints and logs. Defaults live in ./config.ts.
//
// Determinism: batches come from (seed, epoch), dropout masks from (seed, step), validation draws no
// random numbers; so a run resumed from last/ continues exactly as the uninterrupted run would have
// (same thread count). Checkpoints (last/, best/) are model directories (config.json, model.safetensors,
// vocab.txt) plus optimizer.safetensors and trainer-state.json, swapped in atomically.
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AdamW, LRScheduler, clipGradNorm, constant, cosineWithWarmup, linearWarmupDecay, manualSeed, noGrad, tensor, tidy, type Schedule, type Tensor } from '../tensor/index.js';
import { BertTokenizer } from '../text/index.js';
import { padSequences } from '../text/padding.js';
import { batchGraphs } from '../data/graph-batch.js';
import { lengthBucketedBatches } from '../data/batching.js';
import { loadPairs, loadTrainingSet, type Pair } from '../data/training-set.js';
import type { EvalSet } from '../data/eval-molecules.js';
import { ORMA_PRESETS } from '../model/config.js';
import { createOrma, modelFolderExtras, type OrmaBundle } from '../model/factory.js';
import { readMol2vecTable, type Mol2vecTable } from '../model/mol2vec.js';
import { loadBertCheckpoint } from '../model/hf-bert.js';
import type { OrmaConfig } from '../model/orma.js';
import { disposeEncoded, encodeMolecules, encodeTexts, rankPairs, tokenizeTexts } from '../eval/retrieval.js';
import { DEFAULT_MODEL_DIR } from '../util/paths.js';
import { Progress, formatDuration } from '../util/progress.js';
import { writeFileAtomic } from '../util/fs.js';
import { checkpointDir, loadCheckpoint, saveCheckpoint } from './checkpoint.js';
import { paramGroups } from './param-groups.js';
import { ConfigError, type TrainConfig } from './config.js';
import { trainingCurvesSvg, type CurvePoints } from './plot.js';

export interface TrainOptions {
  config: TrainConfig;
  out: string;
  resume?: boolean;
  /** Stop after this many steps in total (the schedule still spans the whole run). */
  maxSteps?: number;
  /** Polled between steps: true saves last/ and stops. */
  shouldStop?: () => boolean;
  log?: (line: string) => void;
  progress?: NodeJS.WriteStream | null;
}

export interface TrainerState {
  step: number;
  epoch: number;
  batchInEpoch: number;
  /** Length of the schedule; fixed by the budget after the calibration steps. */
  totalSteps: number;
  calibrated: boolean;
  /** Training + validation seconds over every session of the run. */
  elapsedSeconds: number;
  lastValidationSeconds: number;
  lastValidationStep: number;
  validationSeconds: number;
  best: { score: number; step: number } | null;
  skippedSteps: number;
  /** Elapsed seconds when the warm-up ended (the time clock's origin). */
  warmupEndSeconds?: number;
  /** The config sections that must not change on resume, as JSON. */
  fingerprint: string;
}

export interface ValidationRecord {
  step: number;
  minutes: number;
  sets: Record<string, Record<'global' | 'fused', { t2m_mrr: number; m2t_mrr: number; t2m_hits1: number; m2t_hits1: number; mrr: number }>>;
  seconds: number;
}

export interface TrainResult {
  steps: number;
  finished: boolean;
  stopped: boolean;
  trainPairs: number;
  pairsPerSecond: number;
  best: TrainerState['best'];
  lastValidation: ValidationRecord | null;
  skippedSteps: number;
  seconds: number;
}

const MAX_SKIPS_IN_A_ROW = 5;

/** A run that cannot go on (divergence): the CLI prints the message alone. */
export class TrainingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TrainingError';
  }
}

function loadStep(dir: string): number | string {
  try {
    return (JSON.parse(readFileSync(join(checkpointDir(dir)!, 'trainer-state.json'), 'utf8')) as TrainerState).step;
  } catch {
    return '?';
  }
}

/** The ORMA config with model.atoms applied (the one place the atom input is set). */
function withAtomInput(orma: OrmaConfig, c: TrainConfig): OrmaConfig {
  if (c.model.orma.molecule && typeof c.model.orma.molecule === 'object' && ('atomInput' in c.model.orma.molecule || 'mol2vecRadius' in c.model.orma.molecule)) {
    throw new ConfigError('model.orma.molecule.atomInput / mol2vecRadius: set the atom input with model.atoms.input and model.atoms.radius');
  }
  if (c.model.atoms.input === 'categorical') return orma;
  return { ...orma, molecule: { ...orma.molecule, atomInput: 'mol2vec', mol2vecRadius: c.model.atoms.radius } };
}

/**
 * The pairs whose molecule fits the official fixed slots (`orma.slots`): a molecule with more atoms or motifs
 * than the slots cannot be padded to them (ChEBI-20 train has one of 289 motifs against 140 slots), so it
 * is left out, and the count is logged.
 */
export function withinSlots(pairs: Pair[], slots: { atoms: number; motifs: number }, what: string, log: (line: string) => void): Pair[] {
  const kept = pairs.filter((p) => p.graph.numAtoms <= slots.atoms && p.graph.numMotifs <= slots.motifs);
  if (kept.length < pairs.length) {
    log(`data: ${what}: ${pairs.length - kept.length} pairs left out, their molecules over the slots (${slots.atoms} atoms, ${slots.motifs} motifs)`);
  }
  return kept;
}

function readTable(path: string): Mol2vecTable {
  try {
    return readMol2vecTable(path);
  } catch (err) {
    throw new ConfigError(`model.atoms.mol2vec: ${(err as Error).message}`);
  }
}

export async function trainOrma(o: TrainOptions): Promise<TrainResult> {
  const c = o.config, log = o.log ?? ((l: string) => console.error(l));
  const lastDir = join(o.out, 'last'), bestDir = join(o.out, 'best');
  const resumeFrom = o.resume ? checkpointDir(lastDir) : null;
  if (!o.resume && existsSync(o.out) && readdirSync(o.out).some((n) => n === 'last' || n.startsWith('.last'))) {
    throw new ConfigError(`${o.out} already holds a run: pass --resume to continue it, or choose another --out`);
  }
  mkdirSync(o.out, { recursive: true });
  writeFileAtomic(join(o.out, 'config.json'), JSON.stringify(c, null, 2) + '\n');

  // ---- data ----
  const featurizer = c.model.featurizer;
  const validationFiles = c.data.validation.map((v) => v.file);
  const train = await loadTrainingSet({
    sources: c.data.sources, exclude: [...c.data.exclude, ...validationFiles], benchmarks: c.data.excludeBenchmarks as EvalSet[],
    featurizer, cacheDir: c.data.cache, strict: c.data.strict, log,
  });
  const validation = [];
  for (const v of c.data.validation) {
    const { pairs, problems } = await loadPairs([v.file], { featurizer, cacheDir: c.data.cache, strict: c.data.strict });
    if (problems.length) log(`data: validation ${v.name}: ${problems.length} unusable rows skipped (scored as nothing: they are left out)`);
    validation.push({ name: v.name, pairs });
  }

  // ---- model ----
  const presetOrma = ORMA_PRESETS[c.model.preset];
  for (const k of Object.keys(c.model.orma)) if (!(k in presetOrma)) throw new ConfigError(`model.orma.${k}: unknown ORMA option (known: ${Object.keys(presetOrma).join(', ')})`);
  const orma = withAtomInput({ ...presetOrma, ...(c.model.orma as Partial<OrmaConfig>) }, c);
  if (orma.slots) {
    train.pairs = withinSlots(train.pairs, orma.slots, 'training', log);
    for (const v of validation) v.pairs = withinSlots(v.pairs, orma.slots, `validation ${v.name}`, log);
  }
  // after every filter: the trainer needs at least one full batch
  if (train.pairs.length < c.optim.batchSize) throw new ConfigError(`only ${train.pairs.length} training pairs left, fewer than one batch of ${c.optim.batchSize}`);
  const mol2vec = c.model.atoms.input === 'mol2vec' ? readTable(c.model.atoms.mol2vec) : undefined;
  if (mol2vec) log(`model: Mol2vec atom inputs of radius ${c.model.atoms.radius} from ${mol2vec.source} (${mol2vec.rows} rows x ${mol2vec.dim}, frozen)`);
  manualSeed(c.run.seed);  // initial weights depend on the seed only
  let bundle: OrmaBundle;
  if (c.model.textInit) {
    const hf = loadBertCheckpoint(c.model.textInit);
    bundle = createOrma({ orma, text: hf.model, tokenizer: hf.tokenizer, maxLength: c.model.maxLength, featurizer, mol2vec });
  } else {
    const tokenizer = BertTokenizer.fromVocabFile(c.model.vocab ?? join(DEFAULT_MODEL_DIR, 'vocab.txt'));
    bundle = createOrma({ orma, text: { ...c.model.text, vocabSize: tokenizer.vocab.size }, tokenizer, maxLength: c.model.maxLength, featurizer, mol2vec });
  }
  if (c.model.init) {
    try { initFrom(bundle, c.model.init); } catch (err) { bundle.model.dispose(); throw err; }
  }
  const model = bundle.model.train();
  const ids = tokenizeTexts(bundle, train.pairs.map((p) => p.text));
  const valSets = validation.map((v) => ({ name: v.name, pairs: v.pairs, ids: tokenizeTexts(bundle, v.pairs.map((p) => p.text)) }));
  log(`model: ${model.numParameters().toLocaleString('en')} parameters (text encoder ${model.text.bert.numParameters().toLocaleString('en')}); preset ${c.model.preset}`);

  // ---- optimizer and schedule ----
  const named = model.namedParameters();
  const opt = new AdamW(paramGroups(named, { weightDecay: c.optim.weightDecay, parts: [
    { name: 'text', match: (n) => n.startsWith('text.bert.'), lr: c.optim.textLr },
    { name: 'rest', match: () => true, lr: c.optim.lr },
  ] }), { lr: c.optim.lr });
  const stepsPerEpoch = Math.floor(train.pairs.length / c.optim.batchSize);
  const fingerprint = JSON.stringify({ model: c.model, data: c.data, optim: c.optim, seed: c.run.seed });
  let state: TrainerState = {
    step: 0, epoch: 0, batchInEpoch: 0, totalSteps: c.optim.steps ?? Math.max(1, Math.round(c.optim.epochs * stepsPerEpoch)), calibrated: c.optim.budgetMinutes === null || c.optim.budgetClock === 'time',
    elapsedSeconds: 0, lastValidationSeconds: -Infinity, lastValidationStep: -1, validationSeconds: 0, best: null, skippedSteps: 0, fingerprint,
  };
  if (resumeFrom) {
    const ck = loadCheckpoint<TrainerState>(resumeFrom);
    if (ck.state.fingerprint !== fingerprint) {
      for (const t of [...Object.values(ck.model), ...Object.values(ck.optimizer.tensors)]) t.dispose();
      throw new ConfigError(`${resumeFrom}: the run was made with another model, data, optimisation or seed; resume with its own config (${join(o.out, 'config.json')} before this call) or use another --out`);
    }
    noGrad(() => model.loadStateDict(ck.model));
    opt.loadState(ck.optimizer);
    for (const t of [...Object.values(ck.model), ...Object.values(ck.optimizer.tensors)]) t.dispose();
    state = ck.state;
    log(`resuming from ${resumeFrom} at step ${state.step} (epoch ${state.epoch + 1}, batch ${state.batchInEpoch}, ${formatDuration(state.elapsedSeconds)} trained)`);
  }
  const shape = (total: number): Schedule => c.optim.schedule === 'cosine' ? cosineWithWarmup(c.optim.warmup, total)
    : c.optim.schedule === 'linear' ? linearWarmupDecay(c.optim.warmup, total) : constant();
  const timeClock = c.optim.budgetMinutes !== null && c.optim.budgetClock === 'time';
  const budgetSeconds = c.optim.budgetMinutes === null ? Infinity : c.optim.budgetMinutes * 60;
  // with the time clock, the decay after warm-up follows the share of the budget's time used (as the
  // baseline's recipe), mapped onto the step axis of the same schedule shape
  const scheduler = new LRScheduler(opt, (s) => {
    if (!timeClock || s <= c.optim.warmup) return shape(state.totalSteps)(s);
    const begin = state.warmupEndSeconds ?? state.elapsedSeconds;
    const share = Math.min(1, (state.elapsedSeconds - begin) / Math.max(1, budgetSeconds - begin));
    return shape(1_000_000)(c.optim.warmup + share * (1_000_000 - c.optim.warmup));
  }, state.step);

  // ---- logs and checkpoints ----
  const metricsPath = join(o.out, 'metrics.jsonl');
  const record = (row: object) => appendFileSync(metricsPath, JSON.stringify(row) + '\n');
  const extras = modelFolderExtras(bundle);  // the Mol2vec table, if any: checkpoints are model folders
  const files = () => ({ 'config.json': JSON.stringify(bundle.config, null, 2) + '\n', 'vocab.txt': bundle.tokenizer.vocab.toText(), 'train-config.json': JSON.stringify(c, null, 2) + '\n', ...extras });
  const save = (dir: string) => saveCheckpoint(dir, { model: Object.fromEntries(named), optimizer: opt.state(), state, files: files() });
  let lastValidation: ValidationRecord | null = null;
  // a resumed run redoes the steps after its checkpoint: drop their old log lines
  // (a fresh start drops all: the lines of a run killed before its first save, resumed with no checkpoint)
  truncateMetrics(metricsPath, resumeFrom ? state.step : -1);
  const curves = readCurves(metricsPath);

  const validate = (): ValidationRecord => {
    const t0 = performance.now();
    model.eval();
    const rec: ValidationRecord = { step: state.step, minutes: state.elapsedSeconds / 60, sets: {}, seconds: 0 };
    for (const v of valSets) {
      const t = encodeTexts(bundle, v.ids), m = encodeMolecules(bundle, v.pairs.map((p) => p.graph));
      const gold = v.pairs.map((_, i) => i);
      const summary = (r: ReturnType<typeof rankPairs>) => ({
        t2m_mrr: r.textToMolecule.mrr, m2t_mrr: r.moleculeToText.mrr, t2m_hits1: r.textToMolecule.hits1, m2t_hits1: r.moleculeToText.hits1,
        mrr: (r.textToMolecule.mrr + r.moleculeToText.mrr) / 2,
      });
      const global = summary(rankPairs(bundle, t, m, gold));
      const fused = c.run.rerank > 0 && orma.combine !== 'mol' ? summary(rankPairs(bundle, t, m, gold, { rerank: c.run.rerank })) : global;
      rec.sets[v.name] = { global, fused };
      disposeEncoded(t); disposeEncoded(m);
    }
    model.train();
    rec.seconds = (performance.now() - t0) / 1000;
    return rec;
  };

  // ---- the loop ----
  const stopAt = () => Math.min(state.totalSteps, o.maxSteps ?? Infinity);
  // under a time budget, the line's percentage and ETA follow the budget's clock, not the nominal step count
  const timeBudget = timeClock ? { seconds: budgetSeconds, used: () => state.elapsedSeconds } : undefined;
  const newProgress = () => new Progress({ label: 'train', total: Math.max(0, stopAt() - state.step), unit: 'steps', stream: o.progress, timeBudget });
  let progress = newProgress();
  const sessionStart = performance.now();
  let clock = performance.now(), pairsSeen = 0, stopped = false, skipsInARow = 0;
  const ema: Record<string, number> = {};
  const tick = () => { const now = performance.now(); state.elapsedSeconds += (now - clock) / 1000; clock = now; };

  const runValidation = () => {
    if (!valSets.length) return;
    tick();
    const rec = validate();
    tick();
    state.validationSeconds += rec.seconds;
    state.lastValidationSeconds = state.elapsedSeconds;
    state.lastValidationStep = state.step;
    lastValidation = rec;
    record({ type: 'validation', ...rec });
    const first = rec.sets[valSets[0]!.name]!;
    const score = first[c.run.selectOn].mrr;
    for (const [name, s] of Object.entries(rec.sets)) {
      curves.validation.push({ minutes: rec.minutes, step: rec.step, series: `${name} ${c.run.selectOn}`, mrr: s[c.run.selectOn].mrr });
      log(`validation step ${rec.step} ${name}: MRR global ${s.global.mrr.toFixed(4)} (t→m ${s.global.t2m_mrr.toFixed(3)}, m→t ${s.global.m2t_mrr.toFixed(3)}), fused ${s.fused.mrr.toFixed(4)} (t→m ${s.fused.t2m_mrr.toFixed(3)} H@1 ${s.fused.t2m_hits1.toFixed(1)}, m→t ${s.fused.m2t_mrr.toFixed(3)} H@1 ${s.fused.m2t_hits1.toFixed(1)}) [${rec.seconds.toFixed(0)} s]`);
    }
    if (state.step > 0 && (!state.best || score > state.best.score)) {
      state.best = { score, step: state.step };
      save(bestDir);
      log(`best so far (${valSets[0]!.name} ${c.run.selectOn} MRR ${score.toFixed(4)}): saved ${bestDir}`);
    }
    tick();
  };

  if (c.run.validateAtStart && state.step === 0 && state.lastValidationStep < 0) runValidation();  // the untrained model's point
  if (state.lastValidationSeconds === -Infinity) state.lastValidationSeconds = state.elapsedSeconds;
  outer: for (; state.epoch < Math.ceil(state.totalSteps / stepsPerEpoch) + 1; state.epoch++, state.batchInEpoch = 0) {
    const batches = lengthBucketedBatches(ids.map((s) => s.length), { batchSize: c.optim.batchSize, seed: c.run.seed, epoch: state.epoch, dropLast: true });
    while (state.batchInEpoch < batches.length) {
      if (state.step >= stopAt() || state.elapsedSeconds >= budgetSeconds) break outer;
      const batch = batches[state.batchInEpoch]!;
      const r = tidy(() => trainStep(batch.map((i) => train.pairs[i]!), batch.map((i) => ids[i]!)));
      state.step++;
      state.batchInEpoch++;
      pairsSeen += batch.length;
      tick();
      if (state.step === c.optim.warmup) state.warmupEndSeconds = state.elapsedSeconds;
      scheduler.step();
      if (r.skipped) {
        state.skippedSteps++;
        if (++skipsInARow >= MAX_SKIPS_IN_A_ROW) {
          throw new TrainingError(`training diverged: ${skipsInARow} steps in a row had a non-finite loss or gradient (step ${state.step}); ` +
            `${join(o.out, 'last')} holds the last good checkpoint (step ${checkpointDir(lastDir) ? loadStep(lastDir) : 'none'}): lower optim.lr and --resume, or check the data`);
        }
      } else {
        skipsInARow = 0;
        for (const [k, v] of Object.entries(r.losses)) ema[k] = ema[k] === undefined ? v : 0.98 * ema[k]! + 0.02 * v;
      }
      record({ type: 'step', step: state.step, epoch: state.epoch, minutes: state.elapsedSeconds / 60, lr: opt.lrs[opt.lrs.length - 1], text_lr: opt.lrs[0], ...r.losses, grad_norm: r.gradNorm, scales: r.scales, skipped: r.skipped });
      if (state.step % 10 === 0) for (const k of ['total', 'global', 'local', 'mid']) if (ema[k] !== undefined) curves.train.push({ minutes: state.elapsedSeconds / 60, step: state.step, series: k, loss: ema[k]! });
      const rate = pairsSeen / ((performance.now() - sessionStart) / 1000);
      progress.tick(1, `loss ${fmt(ema.total)} (g ${fmt(ema.global)} l ${fmt(ema.local)} m ${fmt(ema.mid)}) ${rate.toFixed(1)} pairs/s`);
      if (!state.calibrated && !timeClock && state.step >= c.run.calibrationSteps) calibrate();
      await new Promise((res) => setImmediate(res));  // lets SIGINT handlers run between steps
      if (o.shouldStop?.()) { stopped = true; break outer; }
      const dueBySteps = c.run.validateEverySteps !== null && state.step - state.lastValidationStep >= c.run.validateEverySteps;
      const dueByTime = c.run.validateEverySteps === null && state.elapsedSeconds - state.lastValidationSeconds >= c.run.validateEveryMinutes * 60;
      if (dueBySteps || dueByTime) runValidation();
      if (state.step % c.run.checkpointEverySteps === 0) { save(lastDir); tick(); }
    }
  }
  progress.finish();
  const finished = state.step >= state.totalSteps || state.elapsedSeconds >= budgetSeconds;
  if (state.lastValidationStep !== state.step && !stopped) runValidation();
  save(lastDir);
  try {
    writeFileAtomic(join(o.out, 'curves.svg'), await trainingCurvesSvg(curves, `ORMA training: ${o.out}`));
  } catch (err) {
    log(`train: could not draw curves.svg: ${(err as Error).message}`);
  }
  const seconds = (performance.now() - sessionStart) / 1000;
  const result: TrainResult = {
    steps: state.step, finished, stopped, trainPairs: train.pairs.length, pairsPerSecond: pairsSeen / Math.max(1e-9, seconds),
    best: state.best, lastValidation, skippedSteps: state.skippedSteps, seconds,
  };
  writeFileAtomic(join(o.out, 'summary.json'), JSON.stringify({ ...result, data: { sources: train.sources, exclusions: train.exclusions, problems: train.problems.length } }, null, 2) + '\n');
  if (stopped) log(`stopped at step ${state.step}; resume with --resume`);
  opt.dispose(); model.dispose();
  return result;

  /** The budget fixes the schedule's length: steps that fit in it at the speed measured so far, validation time included. */
  function calibrate(): void {
    const trainSeconds = state.elapsedSeconds - state.validationSeconds;
    const perStep = trainSeconds / state.step;
    const validations = valSets.length ? budgetSeconds / (c.run.validateEverySteps === null ? c.run.validateEveryMinutes * 60 : c.run.validateEverySteps * perStep) : 0;
    const perValidation = lastValidation?.seconds ?? 0;  // the latest validation's cost
    const left = budgetSeconds - state.elapsedSeconds - validations * perValidation;
    state.totalSteps = Math.max(state.step + 1, Math.min(state.totalSteps, state.step + Math.floor(left / perStep)));
    state.calibrated = true;
    log(`budget ${formatDuration(budgetSeconds)}: ${perStep.toFixed(2)} s per step, ~${Math.round(validations)} validations of ${perValidation.toFixed(0)} s -> schedule of ${state.totalSteps} steps (${(state.totalSteps / stepsPerEpoch).toFixed(2)} epochs)`);
    progress.finish();
    progress = newProgress();
  }

  function trainStep(pairs: Pair[], seqs: number[][]): { losses: Record<string, number>; gradNorm: number; scales: number[]; skipped: boolean } {
    manualSeed(c.run.seed * 1_000_003 + state.step);  // dropout masks depend on (seed, step) only
    const t = model.encodeText(padSequences(seqs, bundle.tokenizer.special.pad));
    const m = model.encodeMolecules(batchGraphs(pairs.map((p) => p.graph)));
    const loss = model.loss(model.scores(t, m), sameMolecule(pairs));
    const losses = { total: loss.total.item(), global: loss.global.item(), local: loss.local.item(), mid: loss.mid.item() };
    const scales = model.logitScale ? model.logitScale.exp().toNumbers() : [];
    if (!Number.isFinite(losses.total)) { opt.zeroGrad(); return { losses, gradNorm: NaN, scales, skipped: true }; }
    loss.total.backward();
    const gradNorm = clipGradNorm(opt.parameters(), c.optim.clip > 0 ? c.optim.clip : Infinity);
    if (!Number.isFinite(gradNorm)) { opt.zeroGrad(); return { losses, gradNorm, scales, skipped: true }; }
    opt.step();
    opt.zeroGrad();
    return { losses, gradNorm, scales, skipped: false };
  }
}

/** Copies the weights of the orma model folder `dir` into `b` (a warm start: the optimizer and schedule start afresh). */
function initFrom(b: OrmaBundle, dir: string): void {
  if (!existsSync(join(dir, 'model.safetensors'))) throw new ConfigError(`model.init: ${dir} is not an orma model folder (no model.safetensors)`);
  const vocabPath = join(dir, 'vocab.txt');
  const words = (text: string) => text.split('\n').filter((w) => w !== '').join('\n');
  if (existsSync(vocabPath) && words(readFileSync(vocabPath, 'utf8')) !== words(b.tokenizer.vocab.toText())) {
    throw new ConfigError(`model.init: ${vocabPath} differs from the run's vocabulary (model.vocab / model.textInit): a warm start needs the same one`);
  }
  try {
    b.model.load(join(dir, 'model.safetensors'));
  } catch (err) {
    throw new ConfigError(`model.init: ${(err as Error).message} (the run's model config must match the one the weights were trained with)`);
  }
}

/** bool [B, B]: pairs i ≠ j of the batch that share their molecule (both are true pairs), or undefined. */
function sameMolecule(pairs: Pair[]): Tensor | undefined {
  const b = pairs.length;
  const flags = new Uint8Array(b * b);
  let any = false;
  for (let i = 0; i < b; i++) for (let j = 0; j < b; j++) {
    if (i !== j && pairs[i]!.molecule === pairs[j]!.molecule) { flags[i * b + j] = 1; any = true; }
  }
  return any ? tensor(flags, { dtype: 'uint8', shape: [b, b] }).bool() : undefined;
}

const fmt = (x: number | undefined) => (x === undefined ? '-' : x.toFixed(3));

/** Keeps the log lines of steps ≤ `step` (lines cut by a kill are dropped too). */
function truncateMetrics(path: string, step: number): void {
  if (!existsSync(path)) return;
  const kept = readFileSync(path, 'utf8').split('\n').filter((line) => {
    if (!line) return false;
    try { return ((JSON.parse(line) as { step?: number }).step ?? 0) <= step; } catch { return false; }
  });
  writeFileAtomic(path, kept.length ? kept.join('\n') + '\n' : '');
}

/** Curves of an earlier session of the same run (so a resumed run's plot covers the whole run). */
function readCurves(path: string): CurvePoints {
  const out: CurvePoints = { train: [], validation: [] };
  if (!existsSync(path)) return out;
  const ema: Record<string, number> = {};
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (!line) continue;
    let r: Record<string, unknown>;
    try { r = JSON.parse(line) as Record<string, unknown>; } catch { continue; }  // a line cut by a kill
    if (r.type === 'step' && !r.skipped) {
      for (const k of ['total', 'global', 'local', 'mid']) { const v = r[k] as number; ema[k] = ema[k] === undefined ? v : 0.98 * ema[k]! + 0.02 * v; }
      if ((r.step as number) % 10 === 0) for (const k of ['total', 'global', 'local', 'mid']) out.train.push({ minutes: r.minutes as number, step: r.step as number, series: k, loss: ema[k]! });
    } else if (r.type === 'validation') {
      for (const [name, s] of Object.entries(r.sets as Record<string, Record<string, { mrr: number }>>)) {
        for (const kind of ['global', 'fused']) out.validation.push({ minutes: r.minutes as number, step: r.step as number, series: `${name} ${kind}`, mrr: s[kind]!.mrr });
      }
    }
  }
  return out;
}
