"""What every checkpoint-parity reference script shares (see checkpoint-parity.ts): the test images, each
method's evaluation transform as torchvision runs it, a safetensors writer (Hugging Face's layout, without
the safetensors package), seeded random weights away from identity, and the reference file.

A reference script is run as `/usr/bin/python3 reference_<method>.py OUT` and writes into OUT:
- the checkpoints, saved by torch.save (or as safetensors) in the layout the method publishes;
- images/test/<name>/<name>.png, the test images (a folder dataset: one split, a class per image);
- reference.json: {case name: {image name: embedding}}, PyTorch's float32 embedding of every image.
"""
import json
import os
import struct

import numpy as np
import torch
from PIL import Image
from torchvision import transforms

IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]
BICUBIC = transforms.InterpolationMode.BICUBIC

# Two images: odd sizes and aspect ratios, so resizing and cropping both do work; some structure, not only noise.
IMAGE_SIZES = {"wide": (260, 300), "tall": (530, 520)}


def write_images(out, seed=0):
    """The test images as PNG under OUT/images/test/<name>/, by name."""
    generator = np.random.default_rng(seed)
    paths = {}
    for name, (height, width) in IMAGE_SIZES.items():
        pixels = generator.integers(0, 256, size=(height, width, 3), dtype=np.uint8)
        pixels[:, : width // 2] = (pixels[:, : width // 2] // 3 + 60).astype(np.uint8)
        folder = os.path.join(out, "images", "test", name)
        os.makedirs(folder, exist_ok=True)
        paths[name] = os.path.join(folder, f"{name}.png")
        Image.fromarray(pixels, "RGB").save(paths[name])
    return paths


def evaluation_transform(resize, crop, mean=IMAGENET_MEAN, std=IMAGENET_STD, interpolation=BICUBIC):
    """Shorter side to `resize`, centre crop `crop`, to [0, 1], normalised: the methods' evaluation transform."""
    return transforms.Compose([
        transforms.Resize(resize, interpolation=interpolation),
        transforms.CenterCrop(crop),
        transforms.ToTensor(),
        transforms.Normalize(mean=mean, std=std),
    ])


def embed_images(paths, transform, embed):
    """{image name: embedding as a list} of `embed` (a batch of 1 in, [1, D] out), without gradients."""
    torch.set_num_threads(1)
    result = {}
    with torch.no_grad():
        for name, path in paths.items():
            batch = transform(Image.open(path).convert("RGB")).unsqueeze(0)
            result[name] = embed(batch)[0].double().tolist()
    return result


def randomize(module, seed, scale=0.05):
    """Seeded random weights away from identity: matrices N(0, scale), norm weights near 1, biases small,
    LayerScale factors near 0.5, so a mistake in any parameter's handling shows."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, tensor in module.state_dict().items():
            if not tensor.is_floating_point():
                continue
            if name.endswith("gamma") or name.endswith("lambda1"):
                tensor.copy_(torch.rand(tensor.shape, generator=generator) * 0.5 + 0.25)
            elif tensor.dim() == 1 and name.endswith("weight"):
                tensor.copy_(torch.rand(tensor.shape, generator=generator) * 0.5 + 0.75)
            elif tensor.dim() == 1:
                tensor.copy_(torch.randn(tensor.shape, generator=generator) * 0.02)
            else:
                tensor.copy_(torch.randn(tensor.shape, generator=generator) * scale)
    return module


def save_safetensors(path, tensors, metadata=None):
    """Hugging Face's safetensors file: an 8-byte little-endian header length, the JSON header (padded with
    spaces to 8 bytes), then each float32 tensor's bytes in order."""
    header, chunks, offset = {}, [], 0
    for name, tensor in tensors.items():
        data = tensor.detach().to(torch.float32).contiguous().numpy().astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(tensor.shape), "data_offsets": [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    header["__metadata__"] = metadata or {"format": "pt"}
    encoded = json.dumps(header, separators=(",", ":")).encode("utf-8")
    encoded += b" " * (-len(encoded) % 8)
    with open(path, "wb") as file:
        file.write(struct.pack("<Q", len(encoded)))
        file.write(encoded)
        for chunk in chunks:
            file.write(chunk)


def write_reference(out, reference):
    with open(os.path.join(out, "reference.json"), "w") as file:
        json.dump(reference, file)
