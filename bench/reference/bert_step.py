#!/usr/bin/python3
"""One BERT training step in PyTorch, the reference for bench/engine.ts.

The same architecture as src/nn/bert.ts (Hugging Face BertModel layout: word+position+type
embeddings, post-LN layers, exact GELU, tanh pooler), the same dummy loss and AdamW.
Prints JSON: {"median_ms", "min_ms", "runs", "params", "torch_version", "threads"}.
Run with Debian's /usr/bin/python3 (python3-torch 1.13).
"""
import argparse, json, math, time
import torch
import torch.nn as nn
import torch.nn.functional as F


class Layer(nn.Module):
    def __init__(self, h, heads, ffn, p):
        super().__init__()
        self.heads, self.d = heads, h // heads
        self.q, self.k, self.v = nn.Linear(h, h), nn.Linear(h, h), nn.Linear(h, h)
        self.ao, self.aln = nn.Linear(h, h), nn.LayerNorm(h, eps=1e-12)
        self.i, self.o, self.oln = nn.Linear(h, ffn), nn.Linear(ffn, h), nn.LayerNorm(h, eps=1e-12)
        self.p = p

    def forward(self, x, bias):
        b, l, h = x.shape
        split = lambda t: t.view(b, l, self.heads, self.d).transpose(1, 2)
        q, k, v = split(self.q(x)), split(self.k(x)), split(self.v(x))
        s = q @ k.transpose(-1, -2) * (1 / math.sqrt(self.d)) + bias
        a = F.dropout(s.softmax(-1), self.p, self.training) @ v
        a = a.transpose(1, 2).reshape(b, l, h)
        x = self.aln(F.dropout(self.ao(a), self.p, self.training) + x)
        return self.oln(F.dropout(self.o(F.gelu(self.i(x))), self.p, self.training) + x)


class Bert(nn.Module):
    def __init__(self, c):
        super().__init__()
        h = c["hidden"]
        self.word = nn.Embedding(c["vocabSize"], h)
        self.pos = nn.Embedding(c["maxPositions"], h)
        self.typ = nn.Embedding(2, h)
        self.ln = nn.LayerNorm(h, eps=1e-12)
        self.layers = nn.ModuleList(Layer(h, c["heads"], c["ffn"], c["dropout"]) for _ in range(c["layers"]))
        self.pool = nn.Linear(h, h)
        self.p = c["dropout"]

    def forward(self, ids, mask):
        b, l = ids.shape
        pos = torch.arange(l).unsqueeze(0)
        x = F.dropout(self.ln(self.word(ids) + self.pos(pos) + self.typ(torch.zeros_like(ids))), self.p, self.training)
        bias = ((1 - mask.float()) * torch.finfo(torch.float32).min).view(b, 1, 1, l)
        for layer in self.layers:
            x = layer(x, bias)
        return x, torch.tanh(self.pool(x[:, 0]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--config", required=True)
    ap.add_argument("--shapes", help="JSON file of [batch, length] pairs: time one pass over them (train, then inference)")
    a = ap.parse_args()
    c = json.loads(a.config)
    if a.threads:
        torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    model = Bert(c).train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    if a.shapes:
        return time_shapes(model, opt, c, json.load(open(a.shapes)))
    ids = torch.randint(0, c["vocabSize"], (c["batch"], c["length"]))
    mask = torch.ones(c["batch"], c["length"], dtype=torch.long)

    def step():
        last, _ = model(ids, mask)
        loss = last.mean(1).pow(2).mean()
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)

    step()  # warm-up
    times = []
    for _ in range(a.steps):
        t0 = time.perf_counter()
        step()
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    print(json.dumps({"median_ms": times[len(times) // 2], "min_ms": times[0], "runs": a.steps,
                      "params": sum(p.numel() for p in model.parameters()),
                      "torch_version": torch.__version__, "threads": torch.get_num_threads()}))


def time_shapes(model, opt, c, shapes):
    """One pass of training steps, then one of inference, over batches of the given shapes (after a warm-up pass each)."""
    def run(train):
        model.train(train)
        t0 = time.perf_counter()
        for b, l in shapes:
            ids = torch.randint(0, c["vocabSize"], (b, l))
            mask = torch.ones(b, l, dtype=torch.long)
            if train:
                last, _ = model(ids, mask)
                last.mean(1).pow(2).mean().backward()
                opt.step()
                opt.zero_grad(set_to_none=True)
            else:
                with torch.no_grad():
                    model(ids, mask)
        return time.perf_counter() - t0
    run(True)
    train = run(True)
    run(False)
    infer = run(False)
    print(json.dumps({"train_seconds": train, "infer_seconds": infer, "torch_version": torch.__version__, "threads": torch.get_num_threads()}))


if __name__ == "__main__":
    main()
