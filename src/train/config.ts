// The training configuration: one JSON document (model, data, optimisation, run), its schema
// (TypeBox: JSON Schema with TypeScript types, the schema language the HTTP server uses too), defaults
// at the top as nanoGPT keeps them, `key=value` overrides, and validation errors that name the field.
import { readFileSync } from 'node:fs';
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';

// ---- defaults (read these first) ----
export const TRAIN_DEFAULTS = {
  model: {
    preset: 'default' as 'default' | 'official',
    orma: {} as Record<string, unknown>,
    text: { hidden: 256, layers: 4, heads: 4, ffn: 1024, maxPositions: 512, dropout: 0.1 },
    textInit: null as string | null,     // a Hugging Face BERT folder (SciBERT, or `orma pretrain-text` output)
    init: null as string | null,         // an orma model folder (a checkpoint's best/ or last/, models/default) to start from: same architecture and vocabulary
    vocab: null as string | null,        // vocab.txt; default: the shipped models/default/vocab.txt
    maxLength: 256,
    featurizer: { noBricsFallback: 'rings' as 'none' | 'molecule' | 'rings', downwardEdges: false },
    // what atom nodes start from: learned embeddings of categorical features, or the official code's
    // frozen Mol2vec vectors of the atom's Morgan identifier of `radius` (read from `mol2vec`, a folder
    // relative to the working directory, for training only: the model folder carries the table)
    atoms: { input: 'categorical' as 'categorical' | 'mol2vec', radius: 1 as 0 | 1, mol2vec: '../shared/data/mol2vec/' },
  },
  data: {
    sources: [] as string[],
    exclude: [] as string[],
    excludeBenchmarks: ['chebi20_test', 'chebi20_selection', 'pcdes_validation', 'pcdes_test'] as string[],
    validation: [] as { name: string; file: string }[],
    cache: null as string | null,        // featurization cache folder; default ~/.cache/orma/graphs
    strict: false,
  },
  optim: {
    batchSize: 32,
    lr: 3e-4,                            // everything but the text encoder
    textLr: 3e-4,                        // the text encoder (BERT)
    weightDecay: 0.01,
    warmup: 300,
    schedule: 'cosine' as 'cosine' | 'linear' | 'constant',
    clip: 1.0,
    epochs: 10,
    steps: null as number | null,        // the schedule's length in steps, in place of epochs (equal-step comparisons across data sets)
    budgetMinutes: null as number | null, // fit the schedule's length to a wall-clock budget
    // with a budget, what the decay follows: 'time' (the share of the budget used: ends at zero whatever the
    // machine's load, but a resumed run is no longer bit-identical) or 'steps' (fixed after calibration)
    budgetClock: 'time' as 'time' | 'steps',
  },
  run: {
    seed: 0,
    validateEveryMinutes: 10,
    validateEverySteps: null as number | null,
    checkpointEverySteps: 200,
    rerank: 50,                          // fused reranking of the global top K at validation (0: global only)
    selectOn: 'fused' as 'fused' | 'global',
    calibrationSteps: 20,                // steps timed before a budget fixes the schedule's length
    validateAtStart: false,              // a validation of the untrained model (the curve's first point)
  },
};

// ---- schema ----
const Num = (o: { minimum?: number; exclusiveMinimum?: number; maximum?: number } = {}) => Type.Number(o);
const Int = (o: { minimum?: number; maximum?: number } = {}) => Type.Integer(o);
const strict = <T extends Record<string, TSchema>>(props: T) => Type.Object(props, { additionalProperties: false });

export const TrainConfigSchema = strict({
  model: strict({
    preset: Type.Union([Type.Literal('default'), Type.Literal('official')]),
    orma: Type.Record(Type.String(), Type.Unknown()),
    text: strict({ hidden: Int({ minimum: 8 }), layers: Int({ minimum: 2 }), heads: Int({ minimum: 1 }), ffn: Int({ minimum: 8 }), maxPositions: Int({ minimum: 8 }), dropout: Num({ minimum: 0, maximum: 0.9 }),
      embeddingDropout: Type.Optional(Num({ minimum: 0, maximum: 0.9 })), norm: Type.Optional(Type.Union([Type.Literal('post'), Type.Literal('pre')])) }),
    textInit: Type.Union([Type.String({ minLength: 1 }), Type.Null()]),
    init: Type.Union([Type.String({ minLength: 1 }), Type.Null()]),
    vocab: Type.Union([Type.String({ minLength: 1 }), Type.Null()]),
    maxLength: Int({ minimum: 8, maximum: 4096 }),
    featurizer: strict({ noBricsFallback: Type.Union([Type.Literal('none'), Type.Literal('molecule'), Type.Literal('rings')]), downwardEdges: Type.Boolean() }),
    atoms: strict({ input: Type.Union([Type.Literal('categorical'), Type.Literal('mol2vec')]), radius: Type.Union([Type.Literal(0), Type.Literal(1)]), mol2vec: Type.String({ minLength: 1 }) }),
  }),
  data: strict({
    sources: Type.Array(Type.String({ minLength: 1 }), { minItems: 1 }),
    exclude: Type.Array(Type.String({ minLength: 1 })),
    excludeBenchmarks: Type.Array(Type.Union(['chebi20_test', 'chebi20_validation', 'chebi20_selection', 'pcdes_validation', 'pcdes_test'].map((s) => Type.Literal(s)))),
    validation: Type.Array(strict({ name: Type.String({ minLength: 1 }), file: Type.String({ minLength: 1 }) })),
    cache: Type.Union([Type.String({ minLength: 1 }), Type.Null()]),
    strict: Type.Boolean(),
  }),
  optim: strict({
    batchSize: Int({ minimum: 2 }),
    lr: Num({ exclusiveMinimum: 0 }),
    textLr: Num({ exclusiveMinimum: 0 }),
    weightDecay: Num({ minimum: 0 }),
    warmup: Int({ minimum: 0 }),
    schedule: Type.Union([Type.Literal('cosine'), Type.Literal('linear'), Type.Literal('constant')]),
    clip: Num({ minimum: 0 }),
    epochs: Num({ exclusiveMinimum: 0 }),
    steps: Type.Union([Int({ minimum: 1 }), Type.Null()]),
    budgetMinutes: Type.Union([Num({ exclusiveMinimum: 0 }), Type.Null()]),
    budgetClock: Type.Union([Type.Literal('time'), Type.Literal('steps')]),
  }),
  run: strict({
    seed: Int({ minimum: 0 }),
    validateEveryMinutes: Num({ exclusiveMinimum: 0 }),
    validateEverySteps: Type.Union([Int({ minimum: 1 }), Type.Null()]),
    checkpointEverySteps: Int({ minimum: 1 }),
    rerank: Int({ minimum: 0 }),
    selectOn: Type.Union([Type.Literal('fused'), Type.Literal('global')]),
    calibrationSteps: Int({ minimum: 1 }),
    validateAtStart: Type.Boolean(),
  }),
});

export type TrainConfig = Static<typeof TrainConfigSchema>;

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

type Json = Record<string, unknown>;
const isObject = (x: unknown): x is Json => typeof x === 'object' && x !== null && !Array.isArray(x);

/** Deep merge of plain objects (arrays and scalars replace). */
function merge(base: Json, over: Json): Json {
  const out: Json = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = isObject(v) && isObject(base[k]) && k !== 'orma' ? merge(base[k] as Json, v) : v;
  return out;
}

/** `a.b.c=value` → {a: {b: {c: value}}}; the value is parsed as JSON when it can be (numbers, booleans, arrays), else a string. */
export function parseOverride(s: string): Json {
  const eq = s.indexOf('=');
  if (eq <= 0) throw new ConfigError(`override '${s}' is not key=value (e.g. optim.lr=1e-4)`);
  const path = s.slice(0, eq).split('.'), raw = s.slice(eq + 1);
  let value: unknown;
  try { value = JSON.parse(raw); } catch { value = raw; }
  return path.reduceRight<unknown>((acc, key) => ({ [key]: acc }), value) as Json;
}

/** The resolved config: defaults ← file ← overrides, validated; errors name the field and the source. */
export function resolveTrainConfig(fileConfig: unknown, overrides: string[] = [], source = 'config'): TrainConfig {
  if (!isObject(fileConfig)) throw new ConfigError(`${source}: the config must be a JSON object`);
  let merged = merge(TRAIN_DEFAULTS as unknown as Json, fileConfig);
  for (const o of overrides) merged = merge(merged, parseOverride(o));
  const errors = [...Value.Errors(TrainConfigSchema, merged)];
  if (errors.length) {
    const lines = errors.slice(0, 8).map((e) => `  ${e.path ? e.path.slice(1).replaceAll('/', '.') : '(root)'}: ${e.message}${e.value !== undefined && typeof e.value !== 'object' ? ` (got ${JSON.stringify(e.value)})` : ''}`);
    throw new ConfigError(`${source}: invalid training config:\n${lines.join('\n')}${errors.length > 8 ? `\n  ... and ${errors.length - 8} more` : ''}`);
  }
  return merged as TrainConfig;
}

export function readTrainConfig(path: string, overrides: string[] = []): TrainConfig {
  let text: string;
  try { text = readFileSync(path, 'utf8'); } catch (err) { throw new ConfigError(`${path}: cannot read: ${(err as Error).message}`); }
  let json: unknown;
  try { json = JSON.parse(text); } catch (err) { throw new ConfigError(`${path}: not valid JSON: ${(err as Error).message}`); }
  return resolveTrainConfig(json, overrides, path);
}
