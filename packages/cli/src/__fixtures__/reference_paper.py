"""Checkpoint parity of the paper's backbones (checkpoint-parity.ts): full-size random-weight checkpoints
saved by torch.save in each method's official layout and file format, and PyTorch's embeddings of the test
images through each method's own evaluation transform.

    /usr/bin/python3 reference_paper.py OUT

Writes supervised.pth (zip), simclr.pth (zip, {'state_dict': ...}), swav.pth.tar (legacy format, module.
prefix, projection head and prototypes), dino_full.pth (zip, teacher/student/args/epoch), the test images
and reference.json.
"""
import argparse
import os
import sys

import torch
import torchvision
from torchvision import transforms

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "../../../parity/fixtures"))
from checkpoint_reference import IMAGENET_MEAN, IMAGENET_STD, embed_images, evaluation_transform, randomize, write_images, write_reference  # noqa: E402
from make_fixtures import dino_linear_features, vit_small  # noqa: E402  (DINO's ViT layout, from @medssl/parity's reference networks)

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
torch.manual_seed(0)
images = write_images(out)

resnet = randomize(torchvision.models.resnet50(), seed=1).eval()
state = resnet.state_dict()
for name, tensor in state.items():
    if name.endswith("running_var"):
        tensor.uniform_(0.5, 1.5)
torch.save(state, os.path.join(out, "supervised.pth"))
torch.save({"state_dict": state}, os.path.join(out, "simclr.pth"))
swav = {f"module.{k}": v for k, v in state.items() if not k.startswith("fc.")}
swav["module.projection_head.0.weight"] = torch.randn(2048, 2048) * 0.01
swav["module.prototypes.weight"] = torch.randn(3000, 128)
torch.save(swav, os.path.join(out, "swav.pth.tar"), _use_new_zipfile_serialization=False)

vit = randomize(vit_small(16), seed=2).eval()
teacher = {f"backbone.{k}": v for k, v in vit.state_dict().items()}
teacher["head.mlp.0.weight"] = torch.randn(2048, 384) * 0.01
student = {f"module.{k}": v.clone() for k, v in teacher.items()}
torch.save(
    {"teacher": teacher, "student": student, "epoch": 100, "args": argparse.Namespace(arch="vit_small", patch_size=16)},
    os.path.join(out, "dino_full.pth"),
)

BILINEAR = transforms.InterpolationMode.BILINEAR
pooled = torch.nn.Sequential(*list(resnet.children())[:-1])
resnet_features = lambda batch: pooled(batch).flatten(1)  # noqa: E731
# SimCLR v1's converted checkpoints take inputs in [0, 1]: no normalisation.
unnormalized = dict(mean=[0.0, 0.0, 0.0], std=[1.0, 1.0, 1.0])
write_reference(out, {
    "supervised": embed_images(images, evaluation_transform(256, 224, interpolation=BILINEAR), resnet_features),
    "simclr": embed_images(images, evaluation_transform(256, 224, interpolation=BILINEAR, **unnormalized), resnet_features),
    "swav": embed_images(images, evaluation_transform(256, 224, IMAGENET_MEAN, IMAGENET_STD, BILINEAR), resnet_features),
    "dino": embed_images(images, evaluation_transform(256, 224), lambda batch: dino_linear_features(vit, batch)),
    "dino-160": embed_images(images, evaluation_transform(183, 160), lambda batch: dino_linear_features(vit, batch)),
})
print("wrote", out)
