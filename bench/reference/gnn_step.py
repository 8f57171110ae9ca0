#!/usr/bin/python3
"""One training step of the ORMA-style molecule GNN in PyTorch, the reference for bench/gnn.ts.

The same model, op for op, as orma's MoleculeEncoder (src/model/molecule-encoder.ts; parameter names
included) with the options bench/gnn.ts uses, on the batches (src/data/graph-batch.ts) and initial
weights that bench/gnn.ts exported as safetensors:
  atom input = sum of one embedding per categorical atom feature, placed at the atom nodes; motif nodes
  += mean of their atoms, then molecule nodes += mean of their motifs (atoms if none), through the
  batch's pooling edges; optional node-type embedding; [GCNConv -> Dropout -> ReLU] x2 ->
  GCNConv -> Dropout -> MLP 300-300-300-300 (ReLU, dropout) -> LayerNorm; loss = mean(molecule outputs^2);
  Adam lr 1e-4. GCNConv is PyG's (self-loops, symmetric norm with in-degree + 1, linear, aggregate, bias),
  written with index_select/index_add as PyG's scatter-sum does on CPU.
First the parity check (eval mode, batch 0, initial weights) against orma's outputs and gradients, then
the timed steps. Prints JSON. Run with Debian's /usr/bin/python3 (python3-torch 1.13).
"""
import argparse, json, os, resource, sys, time
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "test", "reference"))  # st_io
import st_io  # noqa: E402


def gcn_norm(edge_index, n):
    loops = torch.arange(n)
    src = torch.cat([edge_index[0], loops])
    dst = torch.cat([edge_index[1], loops])
    deg = torch.zeros(n).index_add(0, dst, torch.ones(src.numel()))
    dinv = deg.pow(-0.5)
    return src, dst, dinv.index_select(0, src) * dinv.index_select(0, dst)


class GCNConv(nn.Module):
    def __init__(self, i, o):
        super().__init__()
        self.lin = nn.Linear(i, o, bias=False)
        self.bias = nn.Parameter(torch.zeros(o))

    def forward(self, x, g):
        src, dst, w, n = g
        h = x.matmul(self.lin.weight.t())
        msg = h.index_select(0, src) * w.unsqueeze(1)
        return torch.zeros(n, h.shape[1]).index_add(0, dst, msg) + self.bias


class MLP(nn.Module):
    def __init__(self, sizes, p):
        super().__init__()
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:]))
        self.p = p

    def forward(self, x):
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i < len(self.layers) - 1:
                x = F.dropout(F.relu(x), self.p, self.training)
        return x


class MoleculeEncoder(nn.Module):
    def __init__(self, c, dims):
        super().__init__()
        h = c["hidden"]
        self.c = c
        self.atom_embeddings = nn.ModuleList(nn.Embedding(d, h) for d in dims)
        if c.get("typeEmbedding", True):
            self.type_embedding = nn.Embedding(3, h)
        self.convs = nn.ModuleList(GCNConv(h, h) for _ in range(c["layers"]))
        self.mlp = MLP([h] * 4, c["dropout"])
        self.norm = nn.LayerNorm(h)

    def forward(self, b, g):
        f = b["atom_features"]
        atoms = self.atom_embeddings[0](f[:, 0])
        for k in range(1, len(self.atom_embeddings)):
            atoms = atoms + self.atom_embeddings[k](f[:, k])
        x = torch.zeros(g[3], self.c["hidden"]).index_add(0, b["atom_node"], atoms)
        for kind in ("motif", "molecule"):
            if b[f"{kind}_pool_src"].numel():
                x = x.index_add(0, b[f"{kind}_pool_dst"], x.index_select(0, b[f"{kind}_pool_src"]) * b[f"{kind}_pool_w"])
        if hasattr(self, "type_embedding"):
            x = x + self.type_embedding(b["node_type"])
        for i, conv in enumerate(self.convs):
            x = F.dropout(conv(x, g), self.c["dropout"], self.training)
            if i < len(self.convs) - 1:
                x = F.relu(x)
        return self.norm(self.mlp(x))


def graph(b):
    n = b["node_type"].numel()
    return (*gcn_norm(b["edge_index"], n), n)


def mol_loss(out, b):
    return out.index_select(0, b["molecule_index"]).pow(2).mean()


def median(xs):
    return sorted(xs)[len(xs) // 2]


def machine_busy_seconds():
    """Busy CPU time of the whole machine (/proc/stat: all but idle and iowait), in seconds (USER_HZ 100)."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:9]]
    return (sum(v) - v[3] - v[4]) / 100


def cpu_window():
    """As cpuWindow in bench/gnn.ts: the CPU other processes used while a block ran, in cores."""
    w0, p0, m0 = time.perf_counter(), time.process_time(), machine_busy_seconds()
    f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt

    def close():
        wall, own, busy = time.perf_counter() - w0, time.process_time() - p0, machine_busy_seconds() - m0
        return {"wall_s": wall, "own_s": own, "machine_busy_s": busy, "other_cores": max(0.0, busy - own) / wall,
                "minor_faults": resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0}
    return close


def parity(model, b, ref):
    """Max abs differences to orma's eval-mode outputs, loss and gradients on batch 0."""
    model.eval()
    out = model(b, graph(b))
    loss = mol_loss(out, b)
    loss.backward()
    grad_abs, grad_rel, worst = 0.0, 0.0, None
    for name, p in model.named_parameters():
        r = ref["grad." + name]
        d = (p.grad - r).abs().max().item()
        rel = d / max(r.abs().max().item(), 1e-30)
        grad_abs = max(grad_abs, d)
        if rel > grad_rel:
            grad_rel, worst = rel, name
    mol = b["molecule_index"]
    res = {
        "out_max_abs_diff": (out.detach() - ref["out"]).abs().max().item(),
        "out_max_abs": out.detach().abs().max().item(),
        "molecule_out_max_abs_diff": (out.detach()[mol] - ref["out"][mol]).abs().max().item(),
        "loss_orma": ref["loss"].item(), "loss_torch": loss.item(),
        "grad_max_abs_diff": grad_abs,
        "grad_max_rel_diff": grad_rel, "grad_worst_param": worst,
    }
    model.zero_grad(set_to_none=True)
    model.train()
    return res


def parts(model, batches, opt, passes):
    """The same per-part timings as bench/gnn.ts --parts."""
    h = model.c["hidden"]

    def med(fn):
        for b in batches:
            fn(b)
        t = []
        for _ in range(passes):
            for b in batches:
                t0 = time.perf_counter(); fn(b); t.append((time.perf_counter() - t0) * 1000)
        return round(median(t), 3)

    def zero():
        model.zero_grad(set_to_none=True)

    conv = model.convs[0]

    def agg(b, grad):
        src, dst, w, n = graph(b)
        x = torch.empty(n, h).uniform_(-1, 1).requires_grad_(grad)
        y = torch.zeros(n, h).index_add(0, dst, x.index_select(0, src) * w.unsqueeze(1))
        if grad:
            y.sum().backward()

    def layer(b):
        g = graph(b)
        x = torch.empty(g[3], h).uniform_(-1, 1).requires_grad_(True)
        conv(x, g).sum().backward(); zero()

    def adam():
        t = []
        for r in range(passes * len(batches) + 1):
            b = batches[r % len(batches)]
            mol_loss(model(b, graph(b)), b).backward()
            t0 = time.perf_counter(); opt.step(); t.append((time.perf_counter() - t0) * 1000)
            zero()
        return round(median(t[1:]), 3)

    return {
        "gcn_norm_ms": med(lambda b: graph(b)),
        "aggregation_fwd_bwd_ms": med(lambda b: agg(b, True)),
        "aggregation_fwd_ms": med(lambda b: agg(b, False)),
        "gcn_layer_fwd_bwd_ms": med(layer),
        "forward_ms": med(lambda b: model(b, graph(b))),
        "forward_backward_ms": med(lambda b: (mol_loss(model(b, graph(b)), b).backward(), zero())),
        "adam_step_ms": adam(),
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--weights", required=True)
    ap.add_argument("--inputs", required=True)
    ap.add_argument("--parity")
    ap.add_argument("--batches", type=int, required=True)
    ap.add_argument("--passes", type=int, default=3)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--config", required=True)
    ap.add_argument("--parts", action="store_true")
    a = ap.parse_args()
    c = json.loads(a.config)
    if a.threads:
        torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    w = st_io.load(a.weights)
    dims = [w[f"atom_embeddings.{k}.weight"].shape[0] for k in range(len([n for n in w if n.startswith("atom_embeddings.")]))]
    model = MoleculeEncoder(c, dims)
    model.load_state_dict(w, strict=True)
    t = st_io.load(a.inputs)
    keys = ("atom_features", "atom_node", "node_type", "edge_index", "motif_pool_src", "motif_pool_dst", "motif_pool_w",
            "molecule_pool_src", "molecule_pool_dst", "molecule_pool_w", "molecule_index")
    batches = [{k: t[f"{i}.{k}"] for k in keys}
               for i in range(a.batches)]
    res = {"torch_version": torch.__version__, "threads": torch.get_num_threads()}
    if a.parity:
        res["parity"] = parity(model, batches[0], st_io.load(a.parity))
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=c["lr"])

    def step(b):
        loss = mol_loss(model(b, graph(b)), b)
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)

    for b in batches:  # warm-up pass
        step(b)
    times = []
    cpu = cpu_window()
    for _ in range(a.passes):
        for b in batches:
            t0 = time.perf_counter(); step(b); times.append((time.perf_counter() - t0) * 1000)
    res["cpu"] = cpu()
    res["times_ms"] = times
    if a.parts:
        res["parts"] = parts(model, batches, opt, a.passes)
    print(json.dumps(res))


if __name__ == "__main__":
    main()
