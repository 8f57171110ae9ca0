// Loading a Hugging Face BERT folder (config.json, vocab.txt, model.safetensors or pytorch_model.bin;
// SciBERT's, for example) and encoding a sentence with it.
//   node dist/examples/load-hf-bert.js [DIR]     (default: the tiny test fixture)
import { fileURLToPath } from 'node:url';
import { noGrad, tensor, tidy } from 'orma/tensor';
import { loadBertCheckpoint } from '../src/model/hf-bert.js';

const dir = process.argv[2] ?? fileURLToPath(new URL('../../test/fixtures/hf-bert-tiny', import.meta.url));
const { config, model, tokenizer, heads, report } = loadBertCheckpoint(dir);
console.log(`${dir}: ${config.layers} layers, hidden ${config.hidden}, vocabulary ${tokenizer.vocab.size}, ${model.numParameters()} parameters`);
if (report.missing.length) console.log(`initialised afresh: ${report.missing.join(', ')}`);

const encoded = tokenizer.encode('The molecule is an alcohol.', { returnTokens: true });
console.log(`tokens: ${encoded.tokens!.join(' ')}`);
const shape = noGrad(() => tidy(() => {
  const ids = tensor(Int32Array.from(encoded.ids), { shape: [1, encoded.ids.length] }).long();
  return model.eval().forward(ids).lastHidden.shape;
}));
console.log(`last hidden state: [${shape.join(', ')}]`);

model.dispose();
for (const t of Object.values(heads)) t.dispose();
