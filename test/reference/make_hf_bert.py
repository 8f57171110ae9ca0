#!/usr/bin/python3
"""Writes a tiny BERT checkpoint in the Hugging Face folder layout, as transformers' BertForPreTraining
saves it (names prefixed "bert.", MLM/NSP heads "cls.*", the position_ids buffer), plus the outputs of
a plain-PyTorch BERT on fixed inputs. The TS import test loads the folder and compares.

Usage: make_hf_bert.py OUT_DIR [--gamma-beta] [--bin]
  --gamma-beta  TensorFlow-era LayerNorm names
  --bin         write pytorch_model.bin in torch's legacy (pre-1.6) format, as SciBERT's folder has, instead of model.safetensors
"""
import json, os, sys
import torch

sys.path.insert(0, os.path.dirname(__file__))
import st_io
from nn_parity import bert

CFG = {"hidden": 16, "layers": 2, "heads": 2, "ffn": 24, "maxPositions": 20}
VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "molecule", "is", "a", "an", "acid", "amine",
         "##s", "##ic", "benz", "##oic", "of", ",", ".", "-", "(", ")", "methyl", "group", "##yl"]


def main():
    out = sys.argv[1]
    gamma_beta = "--gamma-beta" in sys.argv
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(11)
    h, ffn, v, p = CFG["hidden"], CFG["ffn"], len(VOCAB), CFG["maxPositions"]
    w = {
        "embeddings.word_embeddings.weight": torch.randn(v, h) * 0.5,
        "embeddings.position_embeddings.weight": torch.randn(p, h) * 0.5,
        "embeddings.token_type_embeddings.weight": torch.randn(2, h) * 0.5,
        "embeddings.LayerNorm.weight": 1 + 0.1 * torch.randn(h), "embeddings.LayerNorm.bias": 0.1 * torch.randn(h),
        "pooler.dense.weight": torch.randn(h, h) * 0.3, "pooler.dense.bias": 0.1 * torch.randn(h),
    }
    for i in range(CFG["layers"]):
        pre = f"encoder.layer.{i}."
        for n, (o, iN) in {"attention.self.query": (h, h), "attention.self.key": (h, h), "attention.self.value": (h, h),
                           "attention.output.dense": (h, h), "intermediate.dense": (ffn, h), "output.dense": (h, ffn)}.items():
            w[pre + n + ".weight"] = torch.randn(o, iN) * 0.3
            w[pre + n + ".bias"] = 0.1 * torch.randn(o)
        for n in ["attention.output.LayerNorm", "output.LayerNorm"]:
            w[pre + n + ".weight"] = 1 + 0.1 * torch.randn(h)
            w[pre + n + ".bias"] = 0.1 * torch.randn(h)
    saved = {}
    for k, t in w.items():
        name = "bert." + k
        if gamma_beta and ".LayerNorm." in k:
            name = name.replace(".weight", ".gamma").replace(".bias", ".beta")
        saved[name] = t
    saved["bert.embeddings.position_ids"] = torch.arange(p).unsqueeze(0)
    saved["cls.predictions.bias"] = torch.zeros(v)
    saved["cls.predictions.transform.dense.weight"] = torch.randn(h, h)
    saved["cls.predictions.transform.dense.bias"] = torch.zeros(h)
    saved["cls.predictions.transform.LayerNorm.weight"] = torch.ones(h)
    saved["cls.predictions.transform.LayerNorm.bias"] = torch.zeros(h)
    saved["cls.seq_relationship.weight"] = torch.randn(2, h)
    saved["cls.seq_relationship.bias"] = torch.zeros(2)
    if "--bin" in sys.argv:
        torch.save(saved, os.path.join(out, "pytorch_model.bin"), _use_new_zipfile_serialization=False)
    else:
        st_io.save(os.path.join(out, "model.safetensors"), saved, {"format": "pt"})
    config = {"architectures": ["BertForPreTraining"], "model_type": "bert", "vocab_size": v, "hidden_size": h,
              "num_hidden_layers": CFG["layers"], "num_attention_heads": CFG["heads"], "intermediate_size": ffn,
              "max_position_embeddings": p, "type_vocab_size": 2, "hidden_act": "gelu", "hidden_dropout_prob": 0.1,
              "attention_probs_dropout_prob": 0.1, "layer_norm_eps": 1e-12, "initializer_range": 0.02,
              "position_embedding_type": "absolute", "pad_token_id": 0}
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    with open(os.path.join(out, "vocab.txt"), "w") as f:
        f.write("\n".join(VOCAB) + "\n")
    with open(os.path.join(out, "tokenizer_config.json"), "w") as f:
        json.dump({"do_lower_case": True, "model_max_length": p}, f)
    ids = torch.tensor([[2, 5, 6, 7, 8, 14, 15, 10, 18, 3], [2, 22, 23, 3, 0, 0, 0, 0, 0, 0]])
    mask = (ids != 0).long()
    states, pooled = bert(w, ids, mask, {"hidden": h, "heads": CFG["heads"], "layers": CFG["layers"]})
    ref = {"input_ids": ids, "attention_mask": mask, "pooled": pooled}
    for i, s in enumerate(states):
        ref[f"hidden.{i}"] = s
    st_io.save(os.path.join(out, "reference-outputs.safetensors"), ref)


if __name__ == "__main__":
    with torch.no_grad():
        main()
