#!/usr/bin/python3
"""Reference optimizer run for orma's engine tests (test/tensor/optim.test.ts).

Usage: /usr/bin/python3 test/reference/optim_reference.py config.json
(Debian's python3-torch lives in the system Python, not in a pyenv python3 on PATH.)

config.json:
  {"optimizer": "adam" | "adamw", "lr": float, "betas": [b1, b2], "eps": float,
   "params": {name: {"shape": [...], "data": [flat floats]}},
   "groups": [{"params": [names], "lr": float, "weight_decay": float}],
   "grads": [{name: [flat floats]} per step; a missing name means no gradient that step],
   "warmup": int, "total": int,           # get_linear_schedule_with_warmup as a LambdaLR
   "max_norm": float | null}              # torch.nn.utils.clip_grad_norm_ before every step

Per step: set .grad, clip, optimizer.step(), scheduler.step(). Prints JSON
{"params": {name: [flat floats]}, "norms": [...], "lrs": [[lr per group] after each step]} in float64.
"""
import json
import sys

import torch


def linear_warmup_decay(warmup, total):
    # transformers.get_linear_schedule_with_warmup
    def f(step):
        if step < warmup:
            return float(step) / float(max(1, warmup))
        return max(0.0, float(total - step) / float(max(1, total - warmup)))
    return f


def main():
    cfg = json.load(open(sys.argv[1]))
    params = {
        name: torch.tensor(p["data"], dtype=torch.float64).reshape(p["shape"]).requires_grad_()
        for name, p in cfg["params"].items()
    }
    groups = [
        {"params": [params[n] for n in g["params"]], "lr": g["lr"], "weight_decay": g["weight_decay"]}
        for g in cfg["groups"]
    ]
    kind = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW}[cfg["optimizer"]]
    opt = kind(groups, lr=cfg["lr"], betas=tuple(cfg["betas"]), eps=cfg["eps"], foreach=False)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, linear_warmup_decay(cfg["warmup"], cfg["total"]))
    ordered = [p for g in groups for p in g["params"]]
    norms, lrs = [], []
    for step_grads in cfg["grads"]:
        for name, p in params.items():
            g = step_grads.get(name)
            p.grad = None if g is None else torch.tensor(g, dtype=torch.float64).reshape(p.shape)
        if cfg.get("max_norm") is not None:
            norms.append(float(torch.nn.utils.clip_grad_norm_(ordered, cfg["max_norm"])))
        opt.step()
        sched.step()
        lrs.append([g["lr"] for g in opt.param_groups])
    out = {"params": {n: p.detach().reshape(-1).tolist() for n, p in params.items()}, "norms": norms, "lrs": lrs}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
