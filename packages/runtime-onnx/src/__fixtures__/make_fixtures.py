#!/usr/bin/python3
"""PyTorch reference outputs for the parity tests of @medssl/runtime-onnx.

Builds torchvision's resnet50 and a ViT-S/16 in DINO's layout (vision_transformer.py of
facebookresearch/dino, rewritten below with the same module names), fills every canonical tensor from a
closed-form formula that formula-weights.ts reproduces bit for bit, runs formula images through them and
stores only the outputs (parity.npz) and what the test needs to know about them (parity.json).

Run with Debian's interpreter (python3-torch 1.13, python3-torchvision 0.14, python3-numpy); the first
`python3` on PATH lacks them:

    /usr/bin/python3 packages/runtime-onnx/src/__fixtures__/make_fixtures.py

The formula: a tensor's element i is offset + amplitude * (u - 32768) / 32768, where u is the top 16
bits of murmur3's 32-bit finaliser applied to (i * 0x9E3779B1) xor FNV-1a-32(tensor name). Every value
is a 16-bit multiple of a power of two, so it is exact in float32 and any language computes it alike.
"""

import json
import math
import os
import re
import sys

import numpy as np
import torch
import torch.nn as nn
import torchvision

FORMULA_VERSION = 1
HERE = os.path.dirname(os.path.abspath(__file__))
VIT_SIZES = (224, 160, 256)
IMAGES = 2


# ----- the formula (mirrored in formula-weights.ts) -----

def name_seed(name):
    """FNV-1a, 32-bit, over the UTF-8 bytes of the name."""
    value = 0x811C9DC5
    for byte in name.encode("utf-8"):
        value ^= byte
        value = (value * 0x01000193) & 0xFFFFFFFF
    return value


def formula_values(name, count, offset, amplitude):
    index = np.arange(count, dtype=np.uint32)
    with np.errstate(over="ignore"):
        mixed = (index * np.uint32(0x9E3779B1)) ^ np.uint32(name_seed(name))
        mixed ^= mixed >> np.uint32(16)
        mixed *= np.uint32(0x85EBCA6B)
        mixed ^= mixed >> np.uint32(13)
        mixed *= np.uint32(0xC2B2AE35)
        mixed ^= mixed >> np.uint32(16)
    top = (mixed >> np.uint32(16)).astype(np.float64)
    values = offset + amplitude * (top - 32768.0) / 32768.0
    as_float32 = values.astype(np.float32)
    assert np.array_equal(as_float32.astype(np.float64), values), f"{name}: formula values are not exact in float32"
    return as_float32


def formula_rule(name, shape):
    """(offset, amplitude) of a canonical tensor: norms near identity, weights scaled by fan-in."""
    if name.endswith("running_var"):
        return 1.0, 0.5
    if name.endswith("running_mean"):
        return 0.0, 0.125
    if re.search(r"(bn\d|downsample\.1|norm\d?)\.weight$", name):
        return 1.0, 0.25
    if name.endswith(".bias"):
        return 0.0, 0.125
    if name in ("cls_token", "pos_embed"):
        return 0.0, 0.5
    fan_in = int(np.prod(shape[1:]))
    exponent = 0
    while 4 ** (exponent + 1) <= fan_in:
        exponent += 1
    return 0.0, 2.0 ** (1 - exponent)


def formula_tensor(name, shape):
    offset, amplitude = formula_rule(name, shape)
    return formula_values(name, int(np.prod(shape)), offset, amplitude).reshape(shape)


def formula_images(count, size):
    return formula_values(f"images:{size}", count * 3 * size * size, 0.0, 2.0).reshape(count, 3, size, size)


def checksum(values):
    """Position-weighted sum; exact in float64 for formula values, so both languages must agree exactly."""
    flat = values.reshape(-1).astype(np.float64)
    weights = (np.arange(flat.size) % 13 + 1).astype(np.float64)
    return float(np.sum(flat * weights))


def canonical_state_dict(model):
    """The model's own state dict without what the canonical layout leaves out."""
    return {
        name: tensor
        for name, tensor in model.state_dict().items()
        if not name.endswith("num_batches_tracked") and not name.startswith("fc.") and not name.startswith("head.")
    }


def fill_with_formula(model):
    names = []
    with torch.no_grad():
        for name, tensor in canonical_state_dict(model).items():
            tensor.copy_(torch.from_numpy(formula_tensor(name, tuple(tensor.shape))))
            names.append(name)
    return names


# ----- DINO's ViT, following facebookresearch/dino vision_transformer.py -----

class PatchEmbed(nn.Module):
    def __init__(self, img_size=224, patch_size=16, in_chans=3, embed_dim=768):
        super().__init__()
        self.img_size = img_size
        self.patch_size = patch_size
        self.num_patches = (img_size // patch_size) * (img_size // patch_size)
        self.proj = nn.Conv2d(in_chans, embed_dim, kernel_size=patch_size, stride=patch_size)

    def forward(self, x):
        return self.proj(x).flatten(2).transpose(1, 2)


class Mlp(nn.Module):
    def __init__(self, in_features, hidden_features):
        super().__init__()
        self.fc1 = nn.Linear(in_features, hidden_features)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden_features, in_features)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class Attention(nn.Module):
    def __init__(self, dim, num_heads, qkv_bias=True):
        super().__init__()
        self.num_heads = num_heads
        self.scale = (dim // num_heads) ** -0.5
        self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        batch, tokens, channels = x.shape
        qkv = self.qkv(x).reshape(batch, tokens, 3, self.num_heads, channels // self.num_heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        attn = ((q @ k.transpose(-2, -1)) * self.scale).softmax(dim=-1)
        x = (attn @ v).transpose(1, 2).reshape(batch, tokens, channels)
        return self.proj(x)


class Block(nn.Module):
    def __init__(self, dim, num_heads, mlp_ratio=4.0):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = Attention(dim, num_heads)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class VisionTransformer(nn.Module):
    def __init__(self, img_size=224, patch_size=16, embed_dim=384, depth=12, num_heads=6, mlp_ratio=4.0):
        super().__init__()
        self.patch_embed = PatchEmbed(img_size, patch_size, 3, embed_dim)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, self.patch_embed.num_patches + 1, embed_dim))
        self.blocks = nn.ModuleList([Block(embed_dim, num_heads, mlp_ratio) for _ in range(depth)])
        self.norm = nn.LayerNorm(embed_dim, eps=1e-6)

    def interpolate_pos_encoding(self, x, w, h):
        npatch = x.shape[1] - 1
        N = self.pos_embed.shape[1] - 1
        if npatch == N and w == h:
            return self.pos_embed
        class_pos_embed = self.pos_embed[:, 0]
        patch_pos_embed = self.pos_embed[:, 1:]
        dim = x.shape[-1]
        w0 = w // self.patch_embed.patch_size
        h0 = h // self.patch_embed.patch_size
        # DINO's offset against floating point error in the output size (facebookresearch/dino#8)
        w0, h0 = w0 + 0.1, h0 + 0.1
        patch_pos_embed = nn.functional.interpolate(
            patch_pos_embed.reshape(1, int(math.sqrt(N)), int(math.sqrt(N)), dim).permute(0, 3, 1, 2),
            scale_factor=(w0 / math.sqrt(N), h0 / math.sqrt(N)),
            mode="bicubic",
        )
        assert int(w0) == patch_pos_embed.shape[-2] and int(h0) == patch_pos_embed.shape[-1]
        patch_pos_embed = patch_pos_embed.permute(0, 2, 3, 1).view(1, -1, dim)
        return torch.cat((class_pos_embed.unsqueeze(0), patch_pos_embed), dim=1)

    def prepare_tokens(self, x):
        batch, _, w, h = x.shape
        x = self.patch_embed(x)
        x = torch.cat((self.cls_token.expand(batch, -1, -1), x), dim=1)
        return x + self.interpolate_pos_encoding(x, w, h)

    def forward(self, x):
        x = self.prepare_tokens(x)
        for block in self.blocks:
            x = block(x)
        return self.norm(x)[:, 0]

    def get_intermediate_layers(self, x, n=1):
        x = self.prepare_tokens(x)
        output = []
        for index, block in enumerate(self.blocks):
            x = block(x)
            if len(self.blocks) - index <= n:
                output.append(self.norm(x))
        return output


def vit_small(patch_size=16):
    return VisionTransformer(patch_size=patch_size, embed_dim=384, depth=12, num_heads=6, mlp_ratio=4)


def resnet50_features():
    model = torchvision.models.resnet50()
    model.fc = nn.Identity()  # the pooled 2048-d features
    return model


def dino_linear_features(model, images):
    """DINO's eval_linear.py for ViTs: class tokens of the last 4 blocks, each normed, concatenated."""
    return torch.cat([x[:, 0] for x in model.get_intermediate_layers(images, 4)], dim=-1)


# ----- fixtures -----

def relative_error(actual, reference):
    return float(np.max(np.abs(actual - reference)) / np.max(np.abs(reference)))


def main():
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    outputs = {}
    notes = {}
    float64_gap = {}
    checksums = {}

    def run(name, model, function, images):
        with torch.no_grad():
            result = function(model, torch.from_numpy(images)).numpy()
            reference = function(model.double(), torch.from_numpy(images).double()).numpy()
            model.float()
        outputs[name] = result.astype(np.float32)
        float64_gap[name] = relative_error(result.astype(np.float64), reference)
        print(f"{name}: shape {list(result.shape)}, max |value| {np.max(np.abs(result)):.4g}, float32 vs float64 relative error {float64_gap[name]:.2e}")

    resnet = resnet50_features().eval()
    names = fill_with_formula(resnet)
    checksums["resnet50"] = {name: checksum(tensor.numpy()) for name, tensor in canonical_state_dict(resnet).items()}
    run("resnet50_pooled_224", resnet, lambda model, x: model(x), formula_images(IMAGES, 224))
    notes["resnet50"] = {"tensors": len(names)}

    vit = vit_small(16).eval()
    names = fill_with_formula(vit)
    checksums["vits16"] = {name: checksum(tensor.numpy()) for name, tensor in canonical_state_dict(vit).items()}
    for size in VIT_SIZES:
        images = formula_images(IMAGES, size)
        run(f"vits16_cls_{size}", vit, lambda model, x: model(x), images)
        run(f"vits16_cls_last_4_{size}", vit, dino_linear_features, images)
    notes["vits16"] = {"tensors": len(names)}

    np.savez(os.path.join(HERE, "parity.npz"), **outputs)
    description = {
        "formulaVersion": FORMULA_VERSION,
        "images": IMAGES,
        "vitSizes": list(VIT_SIZES),
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "numpy": np.__version__,
        "float32VersusFloat64RelativeError": float64_gap,
        "imageChecksums": {str(size): checksum(formula_images(IMAGES, size)) for size in sorted({224, *VIT_SIZES})},
        "weightChecksums": checksums,
    }
    with open(os.path.join(HERE, "parity.json"), "w") as file:
        json.dump(description, file, indent=1, sort_keys=True)
        file.write("\n")
    print(f"wrote parity.npz ({os.path.getsize(os.path.join(HERE, 'parity.npz'))} bytes) and parity.json")


if __name__ == "__main__":
    sys.exit(main())
