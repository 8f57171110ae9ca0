// The registry of sub-commands. Each module is loaded only when its command runs,
// so `orma featurize` never pays for loading libtorch and vice versa.
export interface CommandModule {
  run(argv: string[]): Promise<number | void>;
}
export interface Command {
  summary: string;
  load(): Promise<CommandModule>;
}

export const commands: Record<string, Command> = {
  demo: { summary: 'a short offline tour: engine, a molecule\'s motifs, a tokenized description', load: () => import('./demo.js') },
  info: { summary: 'show the tensor engine set-up (threads, BLAS, CUDA)', load: () => import('./info.js') },
  bench: { summary: 'run a benchmark (engine, encoder, chem, text, gnn, orma, search, store, serve, cold-start, token-cache) and print JSON', load: () => import('./bench.js') },
  'pretrain-text': { summary: 'pre-train the BERT text encoder with masked-language modelling (resumable)', load: () => import('./pretrain-text.js') },
  train: { summary: 'train an ORMA model from a config (validation, best/last checkpoints, --resume, --budget)', load: () => import('./train.js') },
  export: { summary: 'write a checkpoint as a model directory to ship (weights, config, vocab; float16; model card)', load: () => import('./export.js') },
  eval: { summary: 'retrieval metrics of a model on a pair file, both directions (Hits, Recall, MRR; pools, fused or reranked scores, MoMu)', load: () => import('./eval.js') },
  vocab: { summary: 'train a WordPiece vocabulary (vocab.txt) from training descriptions', load: () => import('./vocab.js') },
  data: { summary: 'download the benchmarks (pinned digests, resumable); check any pair file', load: () => import('./data.js') },
  serve: { summary: 'HTTP API and web page: search, describe, explain (why a molecule matched), depictions', load: () => import('./serve.js') },
  search: { summary: 'search molecules for a description (two-stage ORMA ranking, SMARTS filter), texts for a molecule, similar molecules', load: () => import('./search.js') },
  index: { summary: 'embed a molecule or text library once under a model (progress, resumable, cached)', load: async () => ({ run: (await import('./search.js')).runIndex }) },
  featurize: { summary: 'SMILES -> hierarchical molecule graph (atoms, BRICS motifs); one molecule or a data set', load: () => import('./featurize.js') },
};
