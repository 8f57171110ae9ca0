// Masked-language-model pre-training of the BERT text encoder on descriptions (training splits only).
// Deterministic given the seed (batches, masks and dropout are all derived from seed and step), so a
// run resumed from a checkpoint continues exactly as the uninterrupted run would have.
import { join } from 'node:path';
import { mkdirSync, appendFileSync } from 'node:fs';
import { AdamW, LRScheduler, clipGradNorm, linearWarmupDecay, manualSeed, noGrad, tensor, tidy, type Tensor } from '../tensor/index.js';
import { BertModel, type BertConfig } from '../nn/index.js';
import { BertTokenizer } from '../text/index.js';
import { MlmHead } from '../model/mlm.js';
import { maskTokens } from '../data/mlm-collator.js';
import { saveBertCheckpoint } from '../model/hf-bert.js';
import { lengthBucketedBatches } from '../data/batching.js';
import { mulberry32 } from '../util/random.js';
import { padSequences } from '../text/padding.js';
import { Progress } from '../util/progress.js';
import { hasCheckpoint, loadCheckpoint, saveCheckpoint } from './checkpoint.js';
import { paramGroups } from './param-groups.js';

/** The training settings `orma pretrain-text` uses when neither a flag nor --config sets them. */
export const PRETRAIN_DEFAULTS = {
  epochs: 10,
  batchSize: 32,
  lr: 5e-4,
  /** Warm-up steps (linear), then linear decay to 0. */
  warmup: 500,
  weightDecay: 0.01,
  /** Tokens per text. */
  maxLength: 256,
  maskProb: 0.15,
  /** Gradient norm clip. */
  clip: 1.0,
  seed: 0,
  /** Steps between checkpoints. */
  checkpointEvery: 200,
} as const;

export interface PretrainTextOptions {
  /** Training texts (descriptions). */
  texts: string[];
  /** Optional held-out texts for the MLM loss after each epoch. */
  validationTexts?: string[];
  vocabPath: string;
  out: string;
  /** Encoder size; vocabSize is taken from the vocabulary. */
  encoder: Omit<BertConfig, 'vocabSize'>;
  epochs: number;
  batchSize: number;
  lr: number;
  /** Warm-up steps (linear), then linear decay to 0. */
  warmup: number;
  weightDecay: number;
  maxLength: number;
  maskProb: number;
  clip: number;
  seed: number;
  checkpointEvery: number;
  /** Stop after this many steps in total (for smoke runs); the schedule still spans all epochs. */
  maxSteps?: number;
  resume: boolean;
  /** Polled between steps: when it returns true the run saves a checkpoint and stops. */
  shouldStop?: () => boolean;
  log?: (line: string) => void;
  progress?: NodeJS.WriteStream | null;
}

export interface TrainerState {
  step: number;
  epoch: number;
  batchInEpoch: number;
  totalSteps: number;
  seed: number;
  encoder: BertConfig;
}

export interface PretrainResult {
  steps: number;
  finished: boolean;
  trainLoss: number;
  validationLoss: number | null;
  tokensPerSecond: number;
  seconds: number;
}

export async function pretrainText(o: PretrainTextOptions): Promise<PretrainResult> {
  const log = o.log ?? ((l: string) => console.error(l));
  const tokenizer = BertTokenizer.fromVocabFile(o.vocabPath);
  const config: BertConfig = { ...o.encoder, vocabSize: tokenizer.vocab.size };
  if (o.maxLength > config.maxPositions) throw new Error(`maxLength ${o.maxLength} exceeds the encoder's maxPositions ${config.maxPositions}`);
  const encode = (texts: string[]) => texts.map((t) => tokenizer.encode(t, { maxLength: o.maxLength }).ids);
  const train = encode(o.texts);
  if (train.length === 0) throw new Error('no training texts');
  const lengths = train.map((s) => s.length);
  const stepsPerEpoch = Math.ceil(train.length / o.batchSize);
  const totalSteps = o.epochs * stepsPerEpoch;

  manualSeed(o.seed);  // the initial weights depend on the seed only
  const model = new BertModel(config).train();
  const head = new MlmHead(config).train();
  const named: [string, Tensor][] = [...model.namedParameters().map(([n, p]) => [`bert.${n}`, p] as [string, Tensor]),
    ...head.namedParameters().map(([n, p]) => [`cls.${n}`, p] as [string, Tensor])];
  const opt = new AdamW(paramGroups(named, { weightDecay: o.weightDecay }), { lr: o.lr });
  const ckptDir = join(o.out, 'checkpoint');
  let state: TrainerState = { step: 0, epoch: 0, batchInEpoch: 0, totalSteps, seed: o.seed, encoder: config };
  if (o.resume && hasCheckpoint(ckptDir)) {
    const c = loadCheckpoint<TrainerState>(ckptDir);
    const prefixed = (prefix: string) => Object.fromEntries(Object.entries(c.model).filter(([k]) => k.startsWith(prefix)).map(([k, v]) => [k.slice(prefix.length), v]));
    model.loadStateDict(prefixed('bert.'));
    head.loadStateDict(prefixed('cls.'));
    opt.loadState(c.optimizer);
    for (const t of [...Object.values(c.model), ...Object.values(c.optimizer.tensors)]) t.dispose();
    if (c.state.totalSteps !== totalSteps || c.state.seed !== o.seed) {
      throw new Error(`${ckptDir}: the checkpoint was made with other data, epochs, batch size or seed (total steps ${c.state.totalSteps} vs ${totalSteps}, seed ${c.state.seed} vs ${o.seed})`);
    }
    state = c.state;
    log(`resuming from ${ckptDir} at step ${state.step} (epoch ${state.epoch + 1}, batch ${state.batchInEpoch})`);
  }
  const scheduler = new LRScheduler(opt, linearWarmupDecay(o.warmup, totalSteps), state.step);
  const special = new Set([tokenizer.special.cls, tokenizer.special.sep, tokenizer.special.pad]);
  const save = () => saveCheckpoint(ckptDir, { model: Object.fromEntries(named), optimizer: opt.state(), state });
  mkdirSync(o.out, { recursive: true });
  const metricsPath = join(o.out, 'metrics.jsonl');

  const stopAt = Math.min(totalSteps, o.maxSteps ?? totalSteps);
  const progress = new Progress({ label: 'pretrain-text', total: stopAt - state.step, unit: 'steps', stream: o.progress });
  const t0 = performance.now();
  let tokens = 0, lossEma = NaN, stopped = false, valLoss: number | null = null;
  // state.batchInEpoch is the next batch to train, so a checkpoint resumes right after the last step.
  outer: for (; state.epoch < o.epochs; state.epoch++, state.batchInEpoch = 0) {
    const batches = lengthBucketedBatches(lengths, { batchSize: o.batchSize, seed: o.seed, epoch: state.epoch });
    while (state.batchInEpoch < batches.length) {
      if (state.step >= stopAt) break outer;
      const batch = batches[state.batchInEpoch]!.map((i) => train[i]!);
      const loss = tidy(() => trainStep(batch));
      tokens += batch.reduce((n, s) => n + s.length, 0);
      lossEma = Number.isNaN(lossEma) ? loss : 0.98 * lossEma + 0.02 * loss;
      state.step++;
      state.batchInEpoch++;
      scheduler.step();
      progress.tick(1, `loss ${lossEma.toFixed(3)} lr ${opt.lrs[0]!.toExponential(2)}`);
      if (state.step % 50 === 0) appendFileSync(metricsPath, JSON.stringify({ step: state.step, epoch: state.epoch, train_loss: lossEma, lr: opt.lrs[0] }) + '\n');
      await new Promise((r) => setImmediate(r));  // lets SIGINT handlers run between steps
      if (o.shouldStop?.()) { stopped = true; break outer; }
      if (state.step % o.checkpointEvery === 0) save();
    }
    if (o.validationTexts?.length) {
      valLoss = validationLoss(encode(o.validationTexts));
      appendFileSync(metricsPath, JSON.stringify({ step: state.step, epoch: state.epoch, validation_loss: valLoss }) + '\n');
      log(`epoch ${state.epoch + 1}: validation MLM loss ${valLoss.toFixed(4)}`);
    }
  }
  progress.finish();
  save();
  const finished = state.step >= totalSteps;
  saveBertCheckpoint(o.out, model, tokenizer, o.vocabPath, Object.fromEntries(named.filter(([n]) => n.startsWith('cls.'))));
  const seconds = (performance.now() - t0) / 1000;
  if (stopped) log(`stopped at step ${state.step}; resume with --resume`);
  model.dispose(); head.dispose(); opt.dispose();
  return { steps: state.step, finished, trainLoss: lossEma, validationLoss: valLoss, tokensPerSecond: tokens / seconds, seconds };

  function trainStep(batch: number[][]): number {
    manualSeed(o.seed * 1_000_003 + state.step);  // dropout masks depend on (seed, step) only
    const padded = padSequences(batch, tokenizer.special.pad);
    const masked = maskTokens(padded.inputIds, padded.attentionMask, {
      maskProb: o.maskProb, maskId: tokenizer.special.mask, vocabSize: config.vocabSize, specialIds: special, random: mulberry32(o.seed * 7919 + state.step),
    });
    const shape = [padded.batchSize, padded.seqLength];
    const ids = tensor(masked.inputIds, { dtype: 'int32', shape }).long();
    const mask = tensor(padded.attentionMask, { dtype: 'int32', shape });
    const out = model.forward(ids, mask);
    const loss = head.loss(out.lastHidden, model.embeddings.wordEmbeddings.weight, masked.positions, masked.labels);
    loss.backward();
    if (o.clip > 0) clipGradNorm(opt.parameters(), o.clip);
    opt.step();
    opt.zeroGrad();
    return loss.item();
  }

  function validationLoss(seqs: number[][]): number {
    model.eval(); head.eval();
    let total = 0, count = 0;
    noGrad(() => {
      for (let start = 0; start < seqs.length; start += o.batchSize) {
        const batch = seqs.slice(start, start + o.batchSize);
        tidy(() => {
          const padded = padSequences(batch, tokenizer.special.pad);
          const masked = maskTokens(padded.inputIds, padded.attentionMask, {
            maskProb: o.maskProb, maskId: tokenizer.special.mask, vocabSize: config.vocabSize, specialIds: special, random: mulberry32(12345 + start),
          });
          const shape = [padded.batchSize, padded.seqLength];
          const out = model.forward(tensor(masked.inputIds, { dtype: 'int32', shape }).long(), tensor(padded.attentionMask, { dtype: 'int32', shape }));
          total += head.loss(out.lastHidden, model.embeddings.wordEmbeddings.weight, masked.positions, masked.labels).item() * masked.positions.length;
          count += masked.positions.length;
        });
      }
    });
    model.train(); head.train();
    return total / Math.max(1, count);
  }
}
