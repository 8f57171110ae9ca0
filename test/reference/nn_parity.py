#!/usr/bin/python3
"""PyTorch reference outputs for the nn parity tests (test/nn/parity.test.ts).

Reads weights and inputs written by the test (safetensors), runs the same computations with
plain PyTorch re-implementations (Hugging Face BertModel semantics, PyG GCNConv/GINEConv
semantics), and writes the outputs. Usage: nn_parity.py IN.safetensors OUT.safetensors CONFIG_JSON
"""
import json, math, sys, os
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(__file__))
import st_io


def bert(w, ids, mask, c):
    """HF BertModel forward in eval mode; returns hidden_states (embeddings + each layer) and pooled."""
    b, l = ids.shape
    h, heads = c["hidden"], c["heads"]
    d = h // heads
    eps = 1e-12
    e = w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][torch.arange(l)][None] \
        + w["embeddings.token_type_embeddings.weight"][torch.zeros_like(ids)]
    x = F.layer_norm(e, (h,), w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], eps)
    bias = ((1.0 - mask.to(x.dtype)) * torch.finfo(x.dtype).min).view(b, 1, 1, l)
    states = [x]
    for i in range(c["layers"]):
        p = f"encoder.layer.{i}."
        lin = lambda t, n: F.linear(t, w[p + n + ".weight"], w[p + n + ".bias"])
        split = lambda t: t.view(b, l, heads, d).transpose(1, 2)
        q, k, v = split(lin(x, "attention.self.query")), split(lin(x, "attention.self.key")), split(lin(x, "attention.self.value"))
        a = ((q @ k.transpose(-1, -2)) / math.sqrt(d) + bias).softmax(-1) @ v
        a = a.transpose(1, 2).reshape(b, l, h)
        x = F.layer_norm(lin(a, "attention.output.dense") + x, (h,), w[p + "attention.output.LayerNorm.weight"], w[p + "attention.output.LayerNorm.bias"], eps)
        y = F.gelu(lin(x, "intermediate.dense"))
        x = F.layer_norm(lin(y, "output.dense") + x, (h,), w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"], eps)
        states.append(x)
    pooled = torch.tanh(F.linear(x[:, 0], w["pooler.dense.weight"], w["pooler.dense.bias"]))
    return states, pooled


def gcn(x, edge_index, weight, bias):
    """PyG GCNConv: add self-loops, deg at target, norm = d^-1/2[src] d^-1/2[dst], lin then aggregate then bias."""
    n = x.shape[0]
    loops = torch.arange(n)
    src = torch.cat([edge_index[0], loops])
    dst = torch.cat([edge_index[1], loops])
    deg = torch.zeros(n, dtype=x.dtype).index_add_(0, dst, torch.ones(src.numel(), dtype=x.dtype))
    dinv = deg.pow(-0.5)
    norm = dinv[src] * dinv[dst]
    h = x @ weight.t()
    out = torch.zeros(n, h.shape[1], dtype=x.dtype).index_add_(0, dst, h[src] * norm[:, None])
    return out + bias


def gine(x, edge_index, edge_attr, w):
    """PyG GINEConv with eps=0 and nn = Linear-ReLU-Linear."""
    src, dst = edge_index
    msg = F.relu(x[src] + F.linear(edge_attr, w["lin.weight"], w["lin.bias"]))
    agg = torch.zeros_like(x).index_add_(0, dst, msg)
    h = x + agg
    h = F.relu(F.linear(h, w["nn.layers.0.weight"], w["nn.layers.0.bias"]))
    return F.linear(h, w["nn.layers.1.weight"], w["nn.layers.1.bias"])


def main():
    inp, outp, cfg = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    t = st_io.load(inp)
    pick = lambda prefix: {k[len(prefix):]: v for k, v in t.items() if k.startswith(prefix)}
    out = {}
    states, pooled = bert(pick("bert."), t["input_ids"], t["attention_mask"], cfg["bert"])
    for i, s in enumerate(states):
        out[f"bert.hidden.{i}"] = s
    out["bert.pooled"] = pooled
    out["gcn.out"] = gcn(t["x"], t["edge_index"], t["gcn.lin.weight"], t["gcn.bias"])
    out["gine.out"] = gine(t["x"], t["edge_index"], t["edge_attr"], pick("gine."))
    st_io.save(outp, out)


if __name__ == "__main__":
    with torch.no_grad():
        main()
