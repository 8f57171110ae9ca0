#!/usr/bin/python3
"""safetensors interop reference for orma's engine tests (test/tensor/safetensors.test.ts).

Parses and writes the format with plain struct + json + torch.frombuffer (no safetensors package), so
it checks orma's files against the specification rather than against one library.

  /usr/bin/python3 test/reference/safetensors_reference.py read FILE
      prints {"metadata": {...}, "tensors": {name: {"dtype", "shape", "values"}}}
  /usr/bin/python3 test/reference/safetensors_reference.py write FILE
      writes tensors of every dtype (unpadded header, names unsorted) and prints the same description

values are flat lists: floats for float dtypes (bf16/f16 widened exactly), decimal strings for
I64 (exact beyond 2^53), ints for I32/U8, 0/1 for BOOL.
"""
import json
import struct
import sys

import torch

DTYPES = {
    "F32": torch.float32, "F64": torch.float64, "I64": torch.int64, "I32": torch.int32,
    "U8": torch.uint8, "BOOL": torch.bool, "BF16": torch.bfloat16, "F16": torch.float16,
}
NAMES = {v: k for k, v in DTYPES.items()}


def describe(t):
    name = NAMES[t.dtype]
    flat = t.reshape(-1)
    if name == "I64":
        values = [str(v) for v in flat.tolist()]
    elif name in ("BF16", "F16", "F32", "F64"):
        values = flat.double().tolist()
    else:
        values = [int(v) for v in flat.tolist()]
    return {"dtype": name, "shape": list(t.shape), "values": values}


def read(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n].decode("utf-8"))
    body = bytearray(data[8 + n:])
    metadata = header.pop("__metadata__", {})
    tensors = {}
    end_max = 0
    for name, e in header.items():
        begin, end = e["data_offsets"]
        dtype = DTYPES[e["dtype"]]
        count = 1
        for d in e["shape"]:
            count *= d
        assert end - begin == count * torch.tensor([], dtype=dtype).element_size(), name
        if count == 0:
            t = torch.empty(e["shape"], dtype=dtype)
        else:
            t = torch.frombuffer(body, dtype=dtype, count=count, offset=begin).reshape(e["shape"])
        tensors[name] = describe(t)
        end_max = max(end_max, end)
    assert end_max == len(body), f"data section has {len(body)} bytes, tensors use {end_max}"
    return {"metadata": metadata, "tensors": tensors}


def write(path):
    g = torch.Generator().manual_seed(7)
    tensors = {
        "z_f32": torch.randn(3, 5, generator=g),
        "f64": torch.tensor([[1e-310, -2.5, 1e300]], dtype=torch.float64),
        "i64": torch.tensor([2 ** 62 + 1, -(2 ** 53) - 3, 0], dtype=torch.int64),
        "i32": torch.tensor([[-(2 ** 31), 2 ** 31 - 1]], dtype=torch.int32),
        "u8": torch.arange(250, 256, dtype=torch.uint8).reshape(2, 3),
        "bool": torch.tensor([True, False, True]),
        "bf16": torch.tensor([1.0, -3.140625, 65280.0], dtype=torch.bfloat16),
        "f16": torch.tensor([[0.5], [-65504.0]], dtype=torch.float16),
        "scalar": torch.tensor(2.5),
        "empty": torch.zeros(0, 4),
    }
    header = {"__metadata__": {"format": "pt", "written_by": "safetensors_reference.py"}}
    chunks, offset = [], 0
    for name, t in tensors.items():  # insertion order, not sorted; data unaligned
        raw = bytes(t.contiguous().reshape(-1).view(torch.uint8).tolist())  # no numpy needed
        header[name] = {"dtype": NAMES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    h = json.dumps(header).encode("utf-8")
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for c in chunks:
            f.write(c)
    return {"metadata": header["__metadata__"], "tensors": {n: describe(t) for n, t in tensors.items()}}


if __name__ == "__main__":
    mode, path = sys.argv[1], sys.argv[2]
    print(json.dumps(read(path) if mode == "read" else write(path)))
