#!/usr/bin/python3
"""Writes the small PyTorch checkpoints that test/tensor/torch-checkpoint.test.ts reads.

Usage: make_torch_checkpoints.py [OUT_DIR]   (default: test/fixtures/torch next to this repo's root)

Needs torch (Debian's python3-torch; run with /usr/bin/python3). For each content there is a zip
checkpoint (torch >= 1.6 default) and a legacy one (_use_new_zipfile_serialization=False), plus the
expected values as safetensors, made by loading the checkpoint back with torch.load and flattening
nested dicts with dotted names. int8/int16 tensors are expected widened to int32 (orma has no int8/int16).

Contents:
  bert      an OrderedDict state dict like Hugging Face's pytorch_model.bin (with the _metadata attribute),
            float32/float16/bfloat16/float64/int64/int32/uint8/int8/int16/bool tensors, a transposed
            (non-contiguous) tensor, two tensors sharing one storage (one a view with an offset),
            a 0-dim tensor, an empty tensor and an nn.Parameter.
  nested    {'model': {...}, 'optimizer': {...}, 'epoch': 3, ...}: nested dicts, lists, non-tensor leaves
            (numbers, str, None, bytes, a set, a torch.device).
  bert_zip_p4.pt and nested_legacy_p5.pt use pickle protocols 4 and 5.
Variants of bert_zip.pt made by rewriting the archive (torch.load still reads the first two):
  bert_zip_deflate.pt  entries DEFLATE-compressed
  bert_zip64.pt        every entry with ZIP64 extra fields, ZIP64 end-of-central-directory record
  bert_zip_bigendian.pt  a byteorder record saying 'big' (must be refused)
  bert_zip_missing.pt  one data/<key> record removed (must be an error)
  evil_zip.pt          a zip whose data.pkl calls os.system (must be refused; never loaded here)
"""
import collections, io, os, pickle, struct, sys, zipfile, zlib

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import st_io

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def bert_state():
    g = torch.Generator().manual_seed(7)
    sd = collections.OrderedDict()
    sd["bert.embeddings.word_embeddings.weight"] = torch.randn(10, 4, generator=g)
    sd["bert.embeddings.position_ids"] = torch.arange(6, dtype=torch.int64).unsqueeze(0)
    sd["bert.embeddings.LayerNorm.weight"] = torch.ones(4) + 0.25 * torch.randn(4, generator=g)
    sd["bert.embeddings.LayerNorm.bias"] = torch.randn(4, generator=g).half()
    sd["bert.encoder.layer.0.attention.self.query.weight"] = torch.randn(4, 4, generator=g).to(torch.bfloat16)
    # a transposed view: non-contiguous strides (1, 3)
    sd["bert.encoder.layer.0.output.dense.weight"] = torch.randn(3, 5, generator=g).t()
    # two tensors on one storage: the whole base and a [2, 3] view at offset 2
    base = torch.arange(12, dtype=torch.float32) * 0.5
    sd["shared.base"] = base
    sd["shared.view"] = base[2:8].view(2, 3)
    # every other element of a row: stride 2 in the last dim, plus an offset
    sd["strided.every_other"] = torch.arange(20, dtype=torch.float64).view(4, 5)[1:, ::2]
    sd["scalar.temperature"] = torch.tensor(0.07)
    sd["empty.weight"] = torch.zeros(0, 4)
    sd["mask.bool"] = torch.tensor([[True, False, True], [False, False, True]])
    sd["ids.int32"] = torch.tensor([1, -2, 2147483647], dtype=torch.int32)
    sd["ids.uint8"] = torch.tensor([0, 7, 255], dtype=torch.uint8)
    sd["ids.int8"] = torch.tensor([-128, 0, 127], dtype=torch.int8)
    sd["ids.int16"] = torch.tensor([-32768, 5, 32767], dtype=torch.int16)
    sd["big.int64"] = torch.tensor([-(2 ** 40), 2 ** 53 - 1, 3], dtype=torch.int64)
    sd["cls.bias"] = torch.nn.Parameter(torch.randn(3, generator=g))
    sd._metadata = collections.OrderedDict([("", {"version": 1}), ("bert", {"version": 1})])
    return sd


def nested_state():
    g = torch.Generator().manual_seed(11)
    w = torch.randn(3, 2, generator=g)
    return {
        "model": collections.OrderedDict([("encoder.weight", w), ("encoder.bias", torch.randn(3, generator=g)),
                                          ("head", {"proj.weight": torch.randn(2, 3, generator=g).t()})]),
        "optimizer": {"state": {0: {"step": 5, "exp_avg": torch.full((3, 2), 0.5)}},
                      "param_groups": [{"lr": 1e-4, "params": [0, 1]}]},
        "epoch": 3,
        "name": "scibert-finetune",
        "ratio": 0.5,
        "flag": None,
        "lists": [torch.tensor([1.0, 2.0]), (torch.tensor([3], dtype=torch.int64), "x")],
        # protocol 2 pickles these as calls: _codecs.encode, builtins.set, torch.device
        "blob": b"\x00\xffabc",
        "tags": {"a", "b"},
        "device": torch.device("cuda", 0),
    }


def flatten(obj, prefix, out):
    if isinstance(obj, torch.Tensor):
        t = obj.detach().contiguous()
        if t.dtype in (torch.int8, torch.int16):
            t = t.to(torch.int32)
        out[prefix] = t
    elif isinstance(obj, dict):
        for k, v in obj.items():
            flatten(v, f"{prefix}.{k}" if prefix else str(k), out)
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            flatten(v, f"{prefix}.{i}" if prefix else str(i), out)
    return out


def rewrite_zip(src, dst, transform):
    """Copies a zip, letting transform(name, data) return (name, data) or None to drop the entry."""
    with zipfile.ZipFile(src) as zin:
        entries = [(i.filename, zin.read(i.filename)) for i in zin.infolist()]
    out = []
    for name, data in entries:
        r = transform(name, data)
        if r is not None:
            out.append(r)
    return out


def write_zip(dst, entries, method=zipfile.ZIP_STORED):
    with zipfile.ZipFile(dst, "w", compression=method) as z:
        for name, data in entries:
            z.writestr(zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0)), data, compress_type=method)


def write_zip64(dst, entries):
    """A stored zip where every local/central header carries ZIP64 sizes and offsets (0xFFFFFFFF in the
    32-bit fields) and the end of the central directory is a ZIP64 record + locator + classic record of 0xFFFFs."""
    body, central = bytearray(), bytearray()
    for name, data in entries:
        n = name.encode()
        crc = zlib.crc32(data)
        offset = len(body)
        extra = struct.pack("<HHQQ", 1, 16, len(data), len(data))
        body += struct.pack("<IHHHHHIIIHH", 0x04034B50, 45, 0, 0, 0, 0, crc, 0xFFFFFFFF, 0xFFFFFFFF, len(n), len(extra))
        body += n + extra + data
        cextra = struct.pack("<HHQQQ", 1, 24, len(data), len(data), offset)
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 45, 45, 0, 0, 0, 0, crc, 0xFFFFFFFF, 0xFFFFFFFF,
                               len(n), len(cextra), 0, 0, 0, 0, 0xFFFFFFFF)
        central += n + cextra
    cd_offset = len(body)
    eocd64_offset = cd_offset + len(central)
    eocd64 = struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, len(entries), len(entries), len(central), cd_offset)
    locator = struct.pack("<IIQI", 0x07064B50, 0, eocd64_offset, 1)
    eocd = struct.pack("<IHHHHIIH", 0x06054B50, 0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
    with open(dst, "wb") as f:
        f.write(bytes(body) + bytes(central) + eocd64 + locator + eocd)


class Evil:
    def __reduce__(self):
        return (os.system, ("touch /tmp/orma-torch-checkpoint-pwned",))


def check_same(a, b, what):
    assert a.keys() == b.keys(), (what, sorted(a.keys() ^ b.keys()))
    for k in a:
        assert a[k].dtype == b[k].dtype and a[k].shape == b[k].shape and torch.equal(a[k], b[k]), (what, k)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "test", "fixtures", "torch")
    os.makedirs(out, exist_ok=True)
    p = lambda name: os.path.join(out, name)
    for name, make in (("bert", bert_state), ("nested", nested_state)):
        obj = make()
        torch.save(obj, p(f"{name}_zip.pt"), _use_new_zipfile_serialization=True)
        torch.save(obj, p(f"{name}_legacy.pt"), _use_new_zipfile_serialization=False)
        # newer pickle protocols: FRAME, MEMOIZE, SHORT_BINUNICODE, STACK_GLOBAL
        if name == "bert":
            torch.save(obj, p("bert_zip_p4.pt"), pickle_protocol=4)
        else:
            torch.save(obj, p("nested_legacy_p5.pt"), _use_new_zipfile_serialization=False, pickle_protocol=5)
        expected = flatten(obj, "", {})
        for fmt in ("zip", "legacy", "zip_p4" if name == "bert" else "legacy_p5"):
            check_same(expected, flatten(torch.load(p(f"{name}_{fmt}.pt")), "", {}), f"{name}_{fmt}")
        st_io.save(p(f"{name}_expected.safetensors"), expected)

    zin = p("bert_zip.pt")
    keep = lambda n, d: (n, d)
    write_zip(p("bert_zip_deflate.pt"), rewrite_zip(zin, None, keep), zipfile.ZIP_DEFLATED)
    write_zip64(p("bert_zip64.pt"), rewrite_zip(zin, None, keep))
    expected = flatten(bert_state(), "", {})
    for variant in ("bert_zip_deflate.pt", "bert_zip64.pt"):
        check_same(expected, flatten(torch.load(p(variant)), "", {}), variant)
    entries = rewrite_zip(zin, None, keep)
    prefix = entries[0][0].split("/")[0]
    entries = [e for e in entries if not e[0].endswith("/byteorder")] + [(f"{prefix}/byteorder", b"big")]
    write_zip(p("bert_zip_bigendian.pt"), entries)
    data = [n for n, _ in rewrite_zip(zin, None, keep) if "/data/" in n]
    victim = sorted(data)[len(data) // 2]
    write_zip(p("bert_zip_missing.pt"), rewrite_zip(zin, None, lambda n, d: None if n == victim else (n, d)))
    write_zip(p("evil_zip.pt"), [("archive/data.pkl", pickle.dumps({"x": Evil()}, protocol=2)),
                                 ("archive/version", b"3\n")])
    total = sum(os.path.getsize(p(f)) for f in os.listdir(out))
    print(f"wrote {len(os.listdir(out))} files, {total} bytes, to {out}")


if __name__ == "__main__":
    main()
