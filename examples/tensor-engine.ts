// The tensor engine in a few lines (the README's snippet): a parameter, an optimizer, and a scope that
// frees every tensor made inside it.   node dist/examples/tensor-engine.js
import { AdamW, liveTensorCount, manualSeed, randn, tidy } from 'orma/tensor';

manualSeed(0);
const w = randn([4, 2], { requiresGrad: true });       // lives until w.dispose()
const opt = new AdamW([w], { lr: 1e-2 });
const loss = tidy(() => {                               // every tensor made inside is freed at the end
  const l = randn([8, 4]).matmul(w).relu().mean();
  l.backward();
  return l.item();
});
opt.step();

console.log(`loss ${loss.toFixed(4)}; live tensors: ${liveTensorCount()} (w and AdamW's two moment estimates)`);
opt.dispose();
w.dispose();
console.log(`after dispose: ${liveTensorCount()} live tensors`);
