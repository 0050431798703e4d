"""End-to-end reference for medssl's parity test: full-size random-weight checkpoints saved by torch.save
in each method's official layout and file format, one test image, and PyTorch's embedding of that image
through each method's own evaluation transform.

Run by packages/cli/src/end-to-end.test.ts when Debian's python3-torch is installed:
    /usr/bin/python3 torch_reference.py OUTPUT_FOLDER
Writes supervised.pth (zip), simclr.pth (zip, {'state_dict': ...}), swav.pth.tar (legacy format, module.
prefix, projection head and prototypes), dino_full.pth (zip, teacher/student/args/epoch), image.png and
reference.json.
"""
import argparse
import json
import os
import sys

import numpy as np
import torch
import torchvision
from PIL import Image
from torchvision import transforms

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "../../../parity/fixtures"))
from make_fixtures import dino_linear_features, vit_small  # noqa: E402  (DINO's ViT layout, from @medssl/parity's reference networks)

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
torch.manual_seed(0)
generator = np.random.default_rng(0)


def perturb_norms(model):
    # Away from identity, so a mistake in batch-norm or layer-norm handling shows.
    for name, tensor in model.state_dict().items():
        if name.endswith("running_mean"):
            tensor.copy_(torch.randn_like(tensor) * 0.1)
        elif name.endswith("running_var"):
            tensor.copy_(torch.rand_like(tensor) + 0.5)
        elif (".bn" in name or "downsample.1" in name or "norm" in name) and name.endswith("weight"):
            tensor.copy_(torch.rand_like(tensor) * 0.5 + 0.75)
        elif name.endswith("bias") and tensor.dim() == 1:
            tensor.copy_(torch.randn_like(tensor) * 0.02)


resnet = torchvision.models.resnet50()
perturb_norms(resnet)
resnet.eval()
state = resnet.state_dict()
torch.save(state, os.path.join(out, "supervised.pth"))
torch.save({"state_dict": state}, os.path.join(out, "simclr.pth"))
swav = {f"module.{k}": v for k, v in state.items() if not k.startswith("fc.")}
swav["module.projection_head.0.weight"] = torch.randn(2048, 2048) * 0.01
swav["module.prototypes.weight"] = torch.randn(3000, 128)
torch.save(swav, os.path.join(out, "swav.pth.tar"), _use_new_zipfile_serialization=False)

vit = vit_small(16)
with torch.no_grad():
    for name, tensor in vit.state_dict().items():
        if tensor.dim() > 1:
            tensor.copy_(torch.randn_like(tensor) * 0.05)
perturb_norms(vit)
vit.eval()
teacher = {f"backbone.{k}": v for k, v in vit.state_dict().items()}
teacher["head.mlp.0.weight"] = torch.randn(2048, 384) * 0.01
student = {f"module.{k}": v.clone() for k, v in teacher.items()}
torch.save(
    {"teacher": teacher, "student": student, "epoch": 100, "args": argparse.Namespace(arch="vit_small", patch_size=16)},
    os.path.join(out, "dino_full.pth"),
)

pixels = generator.integers(0, 256, size=(260, 300, 3), dtype=np.uint8)
pixels[:, :150] = (pixels[:, :150] // 3 + 60).astype(np.uint8)  # some structure, not only noise
image = Image.fromarray(pixels, "RGB")
image.save(os.path.join(out, "image.png"))

normalize = transforms.Normalize(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225])


def evaluation(interpolation, with_normalize):
    steps = [transforms.Resize(256, interpolation=interpolation), transforms.CenterCrop(224), transforms.ToTensor()]
    return transforms.Compose(steps + ([normalize] if with_normalize else []))


bilinear = transforms.InterpolationMode.BILINEAR
bicubic = transforms.InterpolationMode.BICUBIC
features = torch.nn.Sequential(*list(resnet.children())[:-1])
reference = {}
with torch.no_grad():
    for name, with_normalize in [("supervised", True), ("simclr", False), ("swav", True)]:
        batch = evaluation(bilinear, with_normalize)(image).unsqueeze(0)
        reference[name] = features(batch).flatten(1)[0].tolist()
    batch = evaluation(bicubic, True)(image).unsqueeze(0)
    reference["dino"] = dino_linear_features(vit, batch)[0].tolist()
with open(os.path.join(out, "reference.json"), "w") as handle:
    json.dump(reference, handle)
print("wrote", out)
