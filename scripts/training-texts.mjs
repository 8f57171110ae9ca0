#!/usr/bin/env node
// Writes the descriptions of a training config's training set (sources minus exclusions, validation
// molecules and benchmark splits removed, exactly as `orma train` builds it), one per line, so that a
// vocabulary follows the same leakage rule as the model:
//   node scripts/training-texts.mjs CONFIG.json OUT.txt && orma vocab --data OUT.txt --size 8000 --out vocab.txt
import { writeFileSync } from 'node:fs';
import { readTrainConfig } from '../dist/src/train/config.js';
import { loadTrainingSet } from '../dist/src/data/training-set.js';

const [configPath, out] = process.argv.slice(2);
if (!configPath || !out) { console.error('usage: node scripts/training-texts.mjs CONFIG.json OUT.txt'); process.exit(2); }
const c = readTrainConfig(configPath);
const set = await loadTrainingSet({
  sources: c.data.sources, exclude: [...c.data.exclude, ...c.data.validation.map((v) => v.file)], benchmarks: c.data.excludeBenchmarks,
  featurizer: c.model.featurizer, cacheDir: c.data.cache, log: (l) => console.error(l),
});
writeFileSync(out, set.pairs.map((p) => p.text).join('\n') + '\n');
console.error(`wrote ${set.pairs.length} descriptions to ${out}`);
