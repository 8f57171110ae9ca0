#!/usr/bin/python3
"""One ORMA training step in PyTorch: the reference for `bench/orma.ts --torch`.

The same model as orma's `Orma` (src/model/orma.ts; parameter names included) with its default
switches (cosine logits with a learnable scale per grain, argmax OT, every pair scored, padding masked),
written the direct way: every (text, molecule) pair padded to the batch's largest text / molecule, the
grouped vectors G materialised, IPOT as tensor ops. It reads the weights and length-bucketed batches
that bench/orma.ts exported as safetensors, checks the loss, the three grains' losses and every
gradient against orma's (eval mode, batch 0), then times training steps (forward, backward, AdamW).
Prints JSON. Run with Debian's /usr/bin/python3 (python3-torch 1.13).
"""
import argparse, json, math, os, sys, time
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)  # gnn_step: the molecule encoder
sys.path.insert(0, os.path.join(HERE, "..", "..", "test", "reference"))  # st_io
import st_io  # noqa: E402
from gnn_step import MoleculeEncoder, cpu_window, gcn_norm  # noqa: E402


class SelfAttention(nn.Module):
    def __init__(self, h, heads, p):
        super().__init__()
        self.query, self.key, self.value = nn.Linear(h, h), nn.Linear(h, h), nn.Linear(h, h)
        self.heads, self.p = heads, p

    def forward(self, x, bias):
        b, l, h = x.shape
        split = lambda t: t.view(b, l, self.heads, h // self.heads).transpose(1, 2)
        q, k, v = split(self.query(x)), split(self.key(x)), split(self.value(x))
        probs = F.dropout((q @ k.transpose(-1, -2) * (1 / math.sqrt(h // self.heads)) + bias).softmax(-1), self.p, self.training)
        return (probs @ v).transpose(1, 2).reshape(b, l, h)


class AddNorm(nn.Module):
    def __init__(self, i, h, p):
        super().__init__()
        self.dense, self.LayerNorm, self.p = nn.Linear(i, h), nn.LayerNorm(h, eps=1e-12), p

    def forward(self, x, residual):
        return self.LayerNorm(F.dropout(self.dense(x), self.p, self.training) + residual)


class Attention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.self = SelfAttention(c["hidden"], c["heads"], c["dropout"])
        self.output = AddNorm(c["hidden"], c["hidden"], c["dropout"])

    def forward(self, x, bias):
        return self.output(self.self(x, bias), x)


class Intermediate(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.dense = nn.Linear(c["hidden"], c["ffn"])

    def forward(self, x):
        return F.gelu(self.dense(x))


class Layer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.attention, self.intermediate, self.output = Attention(c), Intermediate(c), AddNorm(c["ffn"], c["hidden"], c["dropout"])

    def forward(self, x, bias):
        a = self.attention(x, bias)
        return self.output(self.intermediate(a), a)


class Embeddings(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.word_embeddings = nn.Embedding(c["vocabSize"], c["hidden"])
        self.position_embeddings = nn.Embedding(c["maxPositions"], c["hidden"])
        self.token_type_embeddings = nn.Embedding(2, c["hidden"])
        self.LayerNorm = nn.LayerNorm(c["hidden"], eps=1e-12)
        self.p = c["dropout"]

    def forward(self, ids):
        pos = torch.arange(ids.shape[1]).unsqueeze(0)
        e = self.word_embeddings(ids) + self.position_embeddings(pos) + self.token_type_embeddings(torch.zeros_like(ids))
        return F.dropout(self.LayerNorm(e), self.p, self.training)


class Encoder(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.layer = nn.ModuleList(Layer(c) for _ in range(c["layers"]))


class Pooler(nn.Module):
    def __init__(self, h):
        super().__init__()
        self.dense = nn.Linear(h, h)


class Bert(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.embeddings, self.encoder, self.pooler = Embeddings(c), Encoder(c), Pooler(c["hidden"])

    def forward(self, ids, mask):
        bias = (1 - mask.float()).mul(torch.finfo(torch.float32).min).view(ids.shape[0], 1, 1, ids.shape[1])
        x = self.embeddings(ids)
        states = [x]
        for layer in self.encoder.layer:
            x = layer(x, bias)
            states.append(x)
        return states, torch.tanh(self.pooler.dense(x[:, 0]))


class TextEncoder(nn.Module):
    def __init__(self, c, dim):
        super().__init__()
        h = c["hidden"]
        self.bert = Bert(c)
        self.sentence_head, self.sentence_norm = nn.Linear(h, dim), nn.LayerNorm(dim)
        self.token_head, self.multi_token_head = nn.Linear(h, dim), nn.Linear(h, dim)

    def forward(self, ids, mask):
        states, pooled = self.bert(ids, mask)
        n = len(states) - 1
        return self.sentence_norm(self.sentence_head(pooled)), self.token_head(states[n - 2]), self.multi_token_head(states[n - 1])


class Orma(nn.Module):
    def __init__(self, orma, bert):
        super().__init__()
        d, h = orma["dim"], orma["molecule"]["hidden"]
        self.text = TextEncoder(bert, d)
        self.molecule = MoleculeEncoder({**orma["molecule"], "typeEmbedding": orma["molecule"].get("typeEmbedding", True)}, ATOM_DIMS)
        self.molecule_head, self.atom_head, self.motif_head = nn.Linear(h, d), nn.Linear(h, d), nn.Linear(h, d)
        self.logit_scale = nn.Parameter(torch.zeros(3))
        self.c = orma


ATOM_DIMS = []


def ln0(x):
    return F.layer_norm(x, (x.shape[-1],), eps=1e-5)


def grouped_v(sim, qm, keys, kmask):
    """v = LN0(sum_t norm(G_t)) per pair, G materialised: sim [bt,bm,n,k], qm [bt,1|bm,n], keys [bm,k,D], kmask [bm,k]."""
    real = kmask[None, :, None, :]
    lo = sim.masked_fill(~real, float("inf")).min(-1, keepdim=True).values.clamp(-1e30, 1e30)
    shifted = (sim - (lo - 1e-6)) * real.float()
    w = shifted / shifted.sum(-1, keepdim=True).clamp_min(1e-30)
    g = torch.einsum("abnk,bkd->abnd", w, keys)
    return ln0((F.normalize(g, dim=-1) * qm.unsqueeze(-1)).sum(-2))


def cos(u, v):
    return (F.normalize(u, dim=-1) * F.normalize(v, dim=-1)).sum(-1)


def ipot(cost, row, col, beta=0.5, iterations=50):
    """IPOT as src/model/ot.ts: masked marginals, kernel zero off the real (row, column) pairs. In float64,
    as the native kernel accumulates (float32 ops flip the argmax of near-tied plans now and then)."""
    with torch.no_grad():
        cost, row, col = cost.double(), row.double(), col.double()
        a = (row / row.sum(-1, keepdim=True).clamp_min(1)).unsqueeze(-1)
        b = (col / col.sum(-1, keepdim=True).clamp_min(1)).unsqueeze(-1)
        kernel = torch.exp(cost / -beta) * (row.unsqueeze(-1) * col.unsqueeze(-2))
        plan = torch.ones_like(kernel)
        sigma = torch.full_like(b, 1 / cost.shape[-1])
        for _ in range(iterations):
            q = kernel * plan
            delta = a / (q @ sigma + 1e-8)
            sigma = b / (q.transpose(-1, -2) @ delta + 1e-8)
            plan = delta * q * sigma.transpose(-1, -2)
        return plan


def assign_tokens(plan, tolerance):
    """argmax with src/model/ot.ts's tie rule: masses within `tolerance` of a row's best count as tied and go
    to the first motif (a plain argmax split identical motifs' tokens by rounding noise)."""
    near = plan >= plan.max(-1, keepdim=True).values * (1 - tolerance)
    return (near | plan.isnan()).float().argmax(-1)


def forward(model, batch, tie_tolerance):
    c = model.c
    sent, tokens, multi = model.text(batch["input_ids"], batch["attention_mask"])
    tm = batch["attention_mask"].float()
    nodes = model.molecule(batch, (*gcn_norm(batch["edge_index"], batch["node_type"].numel()), batch["node_type"].numel()))
    B = batch["molecule_index"].numel()
    atoms = model.atom_head(nodes[batch["atom_index"]]).view(B, -1, c["dim"])
    motifs = model.motif_head(nodes[batch["motif_index"]]).view(B, -1, c["dim"])
    mol = model.molecule_head(nodes[batch["molecule_index"]])
    am, mm = batch["atom_mask"].bool(), batch["motif_mask"].bool()
    scale = model.logit_scale.clamp(max=math.log(100)).exp()
    glob = F.normalize(sent, dim=-1) @ F.normalize(mol, dim=-1).t() * scale[0]
    u = ln0((F.normalize(tokens, dim=-1) * tm.unsqueeze(-1)).sum(-2))
    v = grouped_v(torch.einsum("and,bkd->abnk", tokens, atoms), tm.unsqueeze(1), atoms, am)
    local = cos(u.unsqueeze(1), v) * scale[1]
    bt, n, _ = multi.shape
    m = motifs.shape[1]
    row = tm.unsqueeze(1).expand(bt, B, n)
    colm = mm.float().unsqueeze(0).expand(bt, B, m)
    with torch.no_grad():
        cost = 1 - torch.einsum("and,bmd->abnm", F.normalize(multi, dim=-1), F.normalize(motifs, dim=-1))
        onehot = F.one_hot(assign_tokens(ipot(cost, row, colm), tie_tolerance), m).float() * row.unsqueeze(-1)
    counts = onehot.sum(2)
    mt = torch.einsum("abnm,and->abmd", onehot, multi) / counts.clamp_min(1).unsqueeze(-1)
    phrase = ((counts > 0) & (colm > 0)).float()
    u2 = ln0((F.normalize(mt, dim=-1) * phrase.unsqueeze(-1)).sum(-2))
    v2 = grouped_v(torch.einsum("abmd,bkd->abmk", mt, motifs), phrase, motifs, mm)
    mid = cos(u2, v2) * scale[2]
    labels = torch.arange(B)
    nce = lambda L: 0.5 * (F.cross_entropy(L, labels) + F.cross_entropy(L.t(), labels))
    w = c["weights"]
    lg, ll, lm = nce(glob), nce(local), nce(mid)
    return w["global"] * lg + w["local"] * ll + w["mid"] * lm, (lg, ll, lm)


def pad_fixed(b, tokens, atoms, motifs):
    """The official recipe's fixed shapes: every text padded to `tokens`, every molecule's atoms to `atoms` and
    motifs to `motifs` (masked: the scores are unchanged, only the work grows)."""
    out = dict(b)
    n = b["input_ids"].shape[1]
    assert n <= tokens, f"a text of {n} tokens is longer than {tokens}"
    out["input_ids"] = F.pad(b["input_ids"], (0, tokens - n))
    out["attention_mask"] = F.pad(b["attention_mask"], (0, tokens - n))
    for index, mask, size in (("atom_index", "atom_mask", atoms), ("motif_index", "motif_mask", motifs)):
        B, k = b[mask].shape
        assert k <= size, f"{k} {index} slots exceed {size}"
        out[index] = F.pad(b[index].view(B, k), (0, size - k)).reshape(-1)
        out[mask] = F.pad(b[mask], (0, size - k))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--weights", required=True)
    ap.add_argument("--inputs", required=True)
    ap.add_argument("--parity", required=True)
    ap.add_argument("--batches", type=int, required=True)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--config", required=True)
    ap.add_argument("--pad", help="TOKENS,ATOMS,MOTIFS: time steps on batches padded to these fixed sizes (parity stays on the real batch)")
    ap.add_argument("--time-batches", type=int, default=0, help="time only the first N batches after the warm-up one")
    a = ap.parse_args()
    cfg = json.loads(a.config)
    tie = cfg["otTieTolerance"]
    if a.threads:
        torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    w = st_io.load(a.weights)
    ATOM_DIMS.extend(w[f"molecule.atom_embeddings.{k}.weight"].shape[0] for k in range(len([n for n in w if n.startswith("molecule.atom_embeddings.")])))
    model = Orma(cfg["orma"], cfg["bert"])
    model.load_state_dict(w, strict=True)
    t = st_io.load(a.inputs)
    keys = sorted({k.split(".", 1)[1] for k in t})
    batches = [{k: t[f"{i}.{k}"] for k in keys} for i in range(a.batches)]
    for b in batches:
        for k in ("motif_pool_w", "molecule_pool_w"):
            b[k] = b[k].float()
    res = {"torch_version": torch.__version__, "threads": torch.get_num_threads()}
    # parity: eval mode (no dropout), batch 0, initial weights
    ref = st_io.load(a.parity)
    model.eval()
    loss, parts = forward(model, batches[0], tie)
    loss.backward()
    # relative to each parameter's largest gradient entry, over parameters whose gradient is not ~0
    # (the key biases' gradients are 0 in exact arithmetic: softmax ignores a shift shared by a row)
    worst, grad_abs, grad_rel = None, 0.0, 0.0
    top = max(ref["grad." + n].abs().max().item() for n, _ in model.named_parameters())
    for name, p in model.named_parameters():
        r = ref["grad." + name]
        g = p.grad if p.grad is not None else torch.zeros_like(p)
        d = (g - r).abs().max().item()
        grad_abs = max(grad_abs, d)
        scale = r.abs().max().item()
        if scale < 1e-4 * top:
            continue
        rel = d / scale
        if rel > grad_rel:
            grad_rel, worst = rel, name
    res["parity"] = {
        "loss_orma": ref["loss"].item(), "loss_torch": loss.item(), "loss_abs_diff": abs(ref["loss"].item() - loss.item()),
        "grain_losses_orma": ref["grains"].tolist(), "grain_losses_torch": [x.item() for x in parts],
        "grad_max_abs_diff": grad_abs, "grad_max_rel_diff": grad_rel, "grad_worst_param": worst,
    }
    model.zero_grad(set_to_none=True)
    if a.pad:  # masked padding must leave the loss as it is
        with torch.no_grad():
            res["parity"]["loss_torch_padded"] = forward(model, pad_fixed(batches[0], *map(int, a.pad.split(","))), tie)[0].item()
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)

    def step(b):
        loss, _ = forward(model, b, tie)
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)

    timed = batches if not a.pad else [pad_fixed(b, *map(int, a.pad.split(","))) for b in batches]
    if a.time_batches:
        timed = timed[: a.time_batches + 1]
    res["padded_to"] = a.pad
    step(timed[0])  # warm-up
    times = []
    cpu = cpu_window()
    for b in timed[1:]:
        t0 = time.perf_counter(); step(b); times.append((time.perf_counter() - t0) * 1000)
    res["cpu"] = cpu()
    res["times_ms"] = times
    print(json.dumps(res))


if __name__ == "__main__":
    main()
