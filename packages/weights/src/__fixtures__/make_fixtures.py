"""Writes the checkpoint fixtures of @medssl/weights and expected.json, the values the tests compare against.

Run with Debian's interpreter, which has python3-torch (1.13) and numpy:

    /usr/bin/python3 packages/weights/src/__fixtures__/make_fixtures.py

Every file is small (the whole folder stays under 400 KB) and made from seeded values, so running the
script again rewrites the same tensors. The safetensors files are written here by the format's rules
(no safetensors package is installed): an 8-byte little-endian header length, compact JSON with
__metadata__ first and tensors ordered by dtype (larger alignment first) then name, spaces up to a
multiple of 8, then the data.
"""

import argparse
import hashlib
import json
import math
import os
import pickle
import struct

import numpy as np
import torch
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))


class SmallNet(nn.Module):
    """A ResNet-like stem and block, small enough for fixtures, with the layer kinds state dicts hold."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 4, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(4)
        self.layer1 = nn.Sequential(nn.Conv2d(4, 4, 1), nn.BatchNorm2d(4))
        self.fc = nn.Linear(4, 3)


def small_state_dict(seed):
    torch.manual_seed(seed)
    model = SmallNet()
    with torch.no_grad():
        for name, buffer in model.named_buffers():
            if name.endswith("running_mean"):
                buffer.normal_()
            elif name.endswith("running_var"):
                buffer.uniform_(0.5, 1.5)
            elif name.endswith("num_batches_tracked"):
                buffer.fill_(1234 + seed)
    return model.state_dict()


class Evil:
    """What a malicious checkpoint holds: unpickling it with pickle would run a shell command."""

    def __reduce__(self):
        return (os.system, ("touch /tmp/medssl-weights-pwned",))


DTYPE_NAMES = {
    torch.float32: "float32",
    torch.float16: "float16",
    torch.bfloat16: "bfloat16",
    torch.float64: "float64",
    torch.int64: "int64",
    torch.int32: "int32",
    torch.int16: "int16",
    torch.int8: "int8",
    torch.uint8: "uint8",
    torch.bool: "bool",
}


def describe(tensor):
    """dtype, shape, the exact sum of the values as read (floats as float32), and the first values."""
    is_float = tensor.is_floating_point()
    flat = tensor.detach().float().flatten() if is_float else tensor.detach().flatten().to(torch.int64)
    values = [float(value) for value in flat.tolist()] if is_float else [int(value) for value in flat.tolist()]
    return {
        "dtype": DTYPE_NAMES[tensor.dtype],
        "shape": list(tensor.shape),
        "sum": math.fsum(values),
        "first": values[:8],
        "last": values[-1] if values else None,
    }


def flatten(value, prefix=""):
    """Dotted keys as @medssl/weights flattens them: dict keys and list indices joined by dots."""
    found = {}
    if isinstance(value, torch.Tensor):
        found[prefix] = value
    elif isinstance(value, dict):
        for key, item in value.items():
            found.update(flatten(item, f"{prefix}.{key}" if prefix else str(key)))
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            found.update(flatten(item, f"{prefix}.{index}" if prefix else str(index)))
    return found


def dtype_zoo():
    torch.manual_seed(7)
    base = torch.arange(24, dtype=torch.float32).reshape(4, 6) / 8 - 1
    cube = torch.randn(2, 3, 4)
    zoo = {
        "half": torch.randn(3, 5).half(),
        "half_transposed": torch.randn(4, 3).half().t(),
        "double": torch.randn(5).double() / 3,
        "double_strided": (torch.randn(10).double() / 7)[1::3],
        "bfloat16": torch.randn(2, 4).bfloat16(),
        "int32": torch.arange(-3, 3, dtype=torch.int32),
        "int16": torch.tensor([-32768, 0, 32767], dtype=torch.int16),
        "int8": torch.tensor([-128, -1, 127], dtype=torch.int8),
        "uint8": torch.tensor([0, 7, 255], dtype=torch.uint8),
        "bool": torch.tensor([True, False, True, True]),
        "int64": torch.tensor([-(2**40), 5, 2**40], dtype=torch.int64),
        # A transposed view: the storage holds the original order, strides (1, 6).
        "transposed": base.t(),
        # Two views of one storage, saved once: rows 1-2, and column 2 (offset 2, stride 6).
        "shared_rows": base[1:3],
        "shared_column": base[:, 2],
        "permuted": cube.permute(2, 0, 1),
        # Stride 0: one value repeated along a dimension.
        "expanded": torch.tensor([1.5, -2.5, 4.0]).unsqueeze(0).expand(2, 3),
        "scalar": torch.tensor(3.25),
        "empty": torch.zeros(0, 3),
    }
    assert not zoo["transposed"].is_contiguous() and not zoo["shared_column"].is_contiguous()
    assert zoo["shared_rows"].storage().data_ptr() == zoo["shared_column"].storage().data_ptr()
    return zoo


PLAIN = {
    "list": [1, 2.5, "text", None, True, False],
    "tuple": (1, (2, 3)),
    "big": 2**70,
    "negative": -(2**40),
    "small_negative": -5,
    "bytes": bytes([0, 10, 255]),
    "bytearray": bytearray(b"ab"),
    "set": {1, 2},
    "frozenset": frozenset([3]),
    "nested": {"integer_keys": {1: "one", -2: "minus two"}},
    "float": 1e-300,
    "unicode": "\u00e9\u2713 \U0001f600\n\\u",
}


def save(value, name, legacy=False):
    path = os.path.join(HERE, name)
    torch.save(value, path, _use_new_zipfile_serialization=not legacy)
    return path


SAFETENSORS_DTYPES = ["BOOL", "U8", "I8", "F8_E5M2", "F8_E4M3", "I16", "U16", "F16", "BF16", "I32", "U32", "F32", "F64", "I64", "U64"]
SAFETENSORS_NAMES = {
    torch.bool: "BOOL", torch.uint8: "U8", torch.int8: "I8", torch.int16: "I16", torch.float16: "F16",
    torch.bfloat16: "BF16", torch.int32: "I32", torch.float32: "F32", torch.float64: "F64", torch.int64: "I64",
}


def write_safetensors(path, tensors, metadata=None):
    """The reference serialisation: tensors by dtype (descending) then name, offsets back to back."""
    ordered = sorted(tensors.items(), key=lambda item: (-SAFETENSORS_DTYPES.index(SAFETENSORS_NAMES[item[1].dtype]), item[0]))
    header = {}
    if metadata is not None:
        header["__metadata__"] = metadata
    data = b""
    for name, tensor in ordered:
        raw = tensor.contiguous().view(torch.uint8).numpy().tobytes() if tensor.dtype == torch.bfloat16 else tensor.contiguous().numpy().tobytes()
        header[name] = {"dtype": SAFETENSORS_NAMES[tensor.dtype], "shape": list(tensor.shape), "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    text = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as file:
        file.write(struct.pack("<Q", len(text)) + text + data)


def main():
    expected = {}

    def record(name, value, **extra):
        expected[name] = {"tensors": {key: describe(tensor) for key, tensor in flatten(value).items()}, **extra}

    small = small_state_dict(0)
    save(small, "small_zip.pth")
    record("small_zip.pth", small)
    save(small, "small_legacy.pth", legacy=True)
    record("small_legacy.pth", small)

    # SwAV and SimCLR (converted) releases: a state dict under 'state_dict', keys from DataParallel ('module.').
    swav = {"state_dict": {f"module.{key}": value for key, value in small_state_dict(1).items()}, "epoch": 800, "arch": "resnet50"}
    save(swav, "swav_like_legacy.pth.tar", legacy=True)
    record("swav_like_legacy.pth.tar", swav)

    # Checkpoints that keep the network under 'model' (MoCo v3, DeiT and others).
    wrapped = {"model": small_state_dict(2)}
    save(wrapped, "model_wrapped.pth")
    record("model_wrapped.pth", wrapped)

    # DINO's full training checkpoint: teacher, student (DataParallel), optimizer, epoch, argparse args.
    teacher_model = SmallNet()
    teacher_model.load_state_dict(small_state_dict(3))
    student = {f"module.{key}": value for key, value in small_state_dict(4).items()}
    optimizer = torch.optim.SGD(teacher_model.parameters(), lr=0.1, momentum=0.9)
    for parameter in teacher_model.parameters():
        parameter.grad = torch.ones_like(parameter)
    optimizer.step()
    args = argparse.Namespace(arch="vit_small", patch_size=16, lr=0.0005, out_dim=65536, use_fp16=True, teacher_temp=0.04, local_crops_scale=(0.05, 0.4))
    dino = {
        "teacher": teacher_model.state_dict(),
        "student": student,
        "optimizer": optimizer.state_dict(),
        "epoch": 100,
        "args": args,
        "dino_loss": {"center": torch.linspace(-1, 1, 6).reshape(1, 6)},
    }
    save(dino, "dino_full_checkpoint.pth")
    record("dino_full_checkpoint.pth", dino, epoch=100, args={"arch": "vit_small", "patch_size": 16, "lr": 0.0005, "local_crops_scale": [0.05, 0.4]})

    zoo = dtype_zoo()
    save(zoo, "dtypes_zip.pth")
    record("dtypes_zip.pth", zoo)
    save(zoo, "dtypes_legacy.pth", legacy=True)
    record("dtypes_legacy.pth", zoo)

    # Malicious: pickle.load would run os.system (posix.system on Linux). Saving only records the call.
    torch.manual_seed(9)
    save({"weight": torch.randn(2, 2), "payload": Evil()}, "malicious_zip.pth")
    save({"weight": torch.randn(2, 2), "payload": Evil()}, "malicious_legacy.pth", legacy=True)

    # safetensors: every dtype medssl reads, and a file of the types medssl writes, to be rewritten byte for byte.
    torch.manual_seed(11)
    readable = {
        "f32": torch.randn(2, 3),
        "f16": torch.randn(3).half(),
        "bf16": torch.randn(2, 2).bfloat16(),
        "f64": torch.randn(3).double(),
        "i64": torch.tensor([-(2**40), 0, 2**40]),
        "i32": torch.tensor([-5, 6], dtype=torch.int32),
        "u8": torch.tensor([1, 200], dtype=torch.uint8),
        "bool": torch.tensor([True, False]),
    }
    write_safetensors(os.path.join(HERE, "all_dtypes.safetensors"), readable, {"format": "pt"})
    record("all_dtypes.safetensors", readable, metadata={"format": "pt"})
    writable = {
        "layer.weight": torch.randn(3, 2),
        "layer.bias": torch.randn(3),
        "é.weight": torch.randn(2),
        "num_batches_tracked": torch.tensor(1234),
        "counts": torch.tensor([1, -2, 3], dtype=torch.int32),
        "mask": torch.tensor([True, False, True]),
        "pixels": torch.tensor([[0, 128], [255, 1]], dtype=torch.uint8),
        "small": torch.tensor([-7, 7], dtype=torch.int16),
        "tiny": torch.tensor([-3], dtype=torch.int8),
        "empty": torch.zeros(0, 2),
    }
    write_safetensors(os.path.join(HERE, "writable.safetensors"), writable, {"format": "pt"})
    record("writable.safetensors", writable, metadata={"format": "pt"})

    # NumPy npz (deflated): float32, float64 (read as float32) and int64 arrays.
    rng = np.random.default_rng(5)
    arrays = {"weight": rng.standard_normal((3, 4)).astype(np.float32), "double": rng.standard_normal(5), "counts": np.arange(-2, 4, dtype=np.int64)}
    np.savez_compressed(os.path.join(HERE, "arrays.npz"), **arrays)
    record("arrays.npz", {key: torch.from_numpy(value) for key, value in arrays.items()})

    # Plain pickles in every protocol, for the unpickler's own opcodes, and a malicious one in protocol 4.
    for protocol in range(6):
        with open(os.path.join(HERE, f"plain_protocol{protocol}.pkl"), "wb") as file:
            file.write(pickle.dumps(PLAIN, protocol=protocol))
    with open(os.path.join(HERE, "evil_protocol4.pkl"), "wb") as file:
        file.write(pickle.dumps({"fine": [1, 2], "payload": Evil()}, protocol=4))

    for name, entry in expected.items():
        with open(os.path.join(HERE, name), "rb") as file:
            entry["sha256"] = hashlib.sha256(file.read()).hexdigest()

    with open(os.path.join(HERE, "expected.json"), "w") as file:
        json.dump(expected, file, indent=1, sort_keys=True)
        file.write("\n")

    total = sum(os.path.getsize(os.path.join(HERE, name)) for name in os.listdir(HERE))
    print(f"wrote {len(expected)} fixtures and expected.json; folder size {total} bytes (torch {torch.__version__}, numpy {np.__version__})")


if __name__ == "__main__":
    main()
