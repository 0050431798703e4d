#!/usr/bin/python3
"""PyTorch CPU reference for bench/tfjs-train-step.ts: one training step of a backbone, timed.

A step is what @medssl/runtime-tfjs does in the bench: train-mode forward of a batch of 224x224 images,
the loss sum(embedding * R) / batch, backward, and one AdamW update of every weight. ResNet-50 is
torchvision's (pooled 2048-d features, channels_last: PyTorch's fastest layout for it on CPU); ViT-S/16 is
DINO's (the module of packages/parity/fixtures/make_fixtures.py), class tokens of the last 4
blocks. Run it as the bench does, with GLIBC_TUNABLES=glibc.malloc.hugetlb=1 (PyTorch's best allocator
setting on these machines):

    GLIBC_TUNABLES=glibc.malloc.hugetlb=1 /usr/bin/python3 bench/tfjs_train_step_reference.py resnet50 16 3 2

Arguments: model (resnet50 | vits16), batch, timed repeats, threads. Prints one JSON line: the seconds of
every timed step (after one warm-up step) and the settings.
"""

import importlib.util
import json
import os
import sys
import time

import torch
import torchvision

HERE = os.path.dirname(os.path.abspath(__file__))
_VIT = os.path.join(HERE, "..", "packages", "parity", "fixtures", "make_fixtures.py")


def dino_vit_small():
    spec = importlib.util.spec_from_file_location("parity_fixtures", _VIT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    model = module.vit_small(16)
    torch.nn.init.trunc_normal_(model.pos_embed, std=0.02)
    torch.nn.init.trunc_normal_(model.cls_token, std=0.02)
    return model, lambda images: module.dino_linear_features(model, images)


def resnet50():
    model = torchvision.models.resnet50()
    model.fc = torch.nn.Identity()
    model = model.to(memory_format=torch.channels_last)
    return model, model


def main():
    name, batch, repeats, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model, forward = resnet50() if name == "resnet50" else dino_vit_small()
    model.train()
    images = torch.randn(batch, 3, 224, 224)
    if name == "resnet50":
        images = images.contiguous(memory_format=torch.channels_last)
    width = 2048 if name == "resnet50" else 1536
    projection = torch.randn(batch, width)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.05)

    def step():
        optimizer.zero_grad(set_to_none=True)
        loss = (forward(images) * projection).sum() / batch
        loss.backward()
        optimizer.step()

    step()  # warm-up: allocations, lazy initialisation
    seconds = []
    for _ in range(repeats):
        started = time.perf_counter()
        step()
        seconds.append(time.perf_counter() - started)
    print(json.dumps({"model": name, "batch": batch, "threads": threads, "seconds": seconds, "torch": torch.__version__,
                      "glibcTunables": os.environ.get("GLIBC_TUNABLES", "")}))


if __name__ == "__main__":
    sys.exit(main())
