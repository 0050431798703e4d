"""Checkpoint parity of MoCo v3 and Barlow Twins (checkpoint-parity.ts): full-size random-weight checkpoints
saved by torch.save in each method's published layout, and PyTorch's embeddings of the test images through
each method's own evaluation transform.

    /usr/bin/python3 reference_mocov3.py OUT

Writes into OUT:
- r-50-1000ep.pth.tar: main_moco.py's checkpoint of a ResNet-50 run (moco-v3): `state_dict` of the
  DDP-wrapped MoCo module (base encoder with its projector as fc, momentum encoder, predictor), `optimizer`
  (LARS), `scaler`, `epoch`, `arch`;
- vit-s-300ep.pth.tar: the same for vit_small (projector as head, AdamW);
- resnet50.pth: Barlow Twins' backbone file (barlowtwins/main.py: the backbone's state dict, fc an Identity);
- the test images and reference.json (cases mocov3-resnet50, mocov3-vits16, mocov3-vits16-160,
  barlowtwins-resnet50).

The networks are written from moco-v3's vits.py and moco/builder.py, the parts of timm 0.4.9's
VisionTransformer that vits.py uses (timm/models/vision_transformer.py, layers/patch_embed.py,
layers/mlp.py), and torchvision's resnet50, which both methods use as it is. Attribute names follow those
files, so state_dict() gives the published key names. The optimizer's state has the published structure
(one entry per trained parameter) but one-element buffers: the reader ignores them, and full-size ones
would more than double the files.
"""
import math
import os
import sys
from functools import partial

import torch
import torch.nn as nn
import torchvision
from torchvision import transforms

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from checkpoint_reference import embed_images, evaluation_transform, randomize, write_images, write_reference  # noqa: E402
from timm_vit import Block  # noqa: E402  (timm 0.4.9's, as vits.py uses it)

BILINEAR = transforms.InterpolationMode.BILINEAR


# timm 0.4.9's VisionTransformer, the parts vits.py builds (no distillation token, no representation layer).
class PatchEmbed(nn.Module):
    """A convolution with kernel and stride of one patch; the input must be of the size it was built for."""

    def __init__(self, img_size, patch_size, in_chans, embed_dim):
        super().__init__()
        self.img_size = (img_size, img_size)
        self.patch_size = (patch_size, patch_size)
        self.grid_size = (img_size // patch_size, img_size // patch_size)
        self.num_patches = self.grid_size[0] * self.grid_size[1]
        self.proj = nn.Conv2d(in_chans, embed_dim, kernel_size=patch_size, stride=patch_size)
        self.norm = nn.Identity()

    def forward(self, x):
        assert tuple(x.shape[-2:]) == self.img_size, f"input {tuple(x.shape[-2:])} for a model of {self.img_size}"
        return self.norm(self.proj(x).flatten(2).transpose(1, 2))


class VisionTransformer(nn.Module):
    def __init__(self, img_size=224, patch_size=16, in_chans=3, num_classes=1000, embed_dim=768, depth=12, num_heads=12, mlp_ratio=4.0, qkv_bias=True, norm_layer=None):
        super().__init__()
        norm_layer = norm_layer or partial(nn.LayerNorm, eps=1e-6)
        self.num_tokens = 1
        self.embed_dim = embed_dim
        self.patch_embed = PatchEmbed(img_size, patch_size, in_chans, embed_dim)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, self.patch_embed.num_patches + 1, embed_dim))
        self.blocks = nn.Sequential(*[Block(embed_dim, num_heads, mlp_ratio, norm_layer, qkv_bias) for _ in range(depth)])
        self.norm = norm_layer(embed_dim)
        self.pre_logits = nn.Identity()
        self.head = nn.Linear(embed_dim, num_classes)

    def forward_features(self, x):
        """What main_lincls.py's linear classifier (`head`) takes: the class token after the final norm."""
        x = self.patch_embed(x)
        x = torch.cat((self.cls_token.expand(x.shape[0], -1, -1), x), dim=1)
        x = self.blocks(x + self.pos_embed)
        return self.pre_logits(self.norm(x)[:, 0])

    def forward(self, x):
        return self.head(self.forward_features(x))


class VisionTransformerMoCo(VisionTransformer):
    """vits.py: timm's ViT with fixed 2-D sine-cosine positions made for the model's own patch grid."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.build_2d_sincos_position_embedding()

    def build_2d_sincos_position_embedding(self, temperature=10000.0):
        rows, columns = self.patch_embed.grid_size
        # vits.py calls meshgrid(grid_w, grid_h) on torch 1.9, whose only indexing was 'ij'.
        along_first, along_second = torch.meshgrid(torch.arange(columns, dtype=torch.float32), torch.arange(rows, dtype=torch.float32), indexing="ij")
        quarter = self.embed_dim // 4
        omega = 1.0 / (temperature ** (torch.arange(quarter, dtype=torch.float32) / quarter))
        first = torch.einsum("m,d->md", [along_first.flatten(), omega])
        second = torch.einsum("m,d->md", [along_second.flatten(), omega])
        patches = torch.cat([torch.sin(first), torch.cos(first), torch.sin(second), torch.cos(second)], dim=1)[None]
        self.pos_embed = nn.Parameter(torch.cat([torch.zeros(1, 1, self.embed_dim), patches], dim=1))
        self.pos_embed.requires_grad = False


def vit_small(**kwargs):
    """vits.py's vit_small: 12 heads (DeiT's ViT-S has 6)."""
    return VisionTransformerMoCo(patch_size=16, embed_dim=384, depth=12, num_heads=12, mlp_ratio=4, qkv_bias=True, norm_layer=partial(nn.LayerNorm, eps=1e-6), **kwargs)


# moco/builder.py's MoCo module: two encoders whose classifier is replaced by a projector, and a predictor.
def build_mlp(num_layers, input_dim, mlp_dim, output_dim, last_bn=True):
    """Linear layers without bias; BatchNorm1d and ReLU between them; after the last, an affine-free BatchNorm1d when last_bn."""
    layers = []
    for index in range(num_layers):
        last = index == num_layers - 1
        layers.append(nn.Linear(input_dim if index == 0 else mlp_dim, output_dim if last else mlp_dim, bias=False))
        if not last:
            layers += [nn.BatchNorm1d(mlp_dim), nn.ReLU(inplace=True)]
        elif last_bn:
            layers.append(nn.BatchNorm1d(output_dim, affine=False))
    return nn.Sequential(*layers)


class MoCo(nn.Module):
    def __init__(self, base_encoder, head, projector_layers, predictor_last_bn, dim=256, mlp_dim=4096):
        super().__init__()
        self.base_encoder = base_encoder(num_classes=mlp_dim)
        self.momentum_encoder = base_encoder(num_classes=mlp_dim)
        hidden_dim = getattr(self.base_encoder, head).weight.shape[1]
        for encoder in (self.base_encoder, self.momentum_encoder):
            setattr(encoder, head, build_mlp(projector_layers, hidden_dim, mlp_dim, dim))
        self.predictor = build_mlp(2, dim, mlp_dim, dim, predictor_last_bn)


def moco_resnet():
    return MoCo(partial(torchvision.models.resnet50, zero_init_residual=True), "fc", 2, False)


def moco_vit():
    return MoCo(vit_small, "head", 3, True)


def with_valid_statistics(module, seed):
    """`randomize`, then batch-norm variances made positive, as trained ones are."""
    randomize(module, seed)
    generator = torch.Generator().manual_seed(seed + 1000)
    with torch.no_grad():
        for name, tensor in module.state_dict().items():
            if name.endswith("running_var"):
                tensor.copy_(torch.rand(tensor.shape, generator=generator) + 0.5)
    return module


def optimizer_state(module, buffers, group):
    """An optimizer's state_dict: per trained parameter (the momentum encoder has no gradient), its buffers."""
    trained = [parameter for name, parameter in module.named_parameters() if not name.startswith("momentum_encoder.")]
    state = {index: {name: make() for name, make in buffers.items()} for index in range(len(trained))}
    return {"state": state, "param_groups": [{**group, "params": list(range(len(trained)))}]}


def save_moco(moco, arch, path, optimizer):
    state = {f"module.{name}": tensor for name, tensor in moco.state_dict().items()}
    scaler = {"scale": 65536.0, "growth_factor": 2.0, "backoff_factor": 0.5, "growth_interval": 2000, "_growth_tracker": 113}
    torch.save({"epoch": 300, "arch": arch, "state_dict": state, "optimizer": optimizer, "scaler": scaler}, path)


def backbone_of(moco, head):
    """main_lincls.py: module.base_encoder.* without its fc/head, the prefix removed."""
    return {name: tensor for name, tensor in moco.base_encoder.state_dict().items() if not name.startswith(f"{head}.")}


out = sys.argv[1]
os.makedirs(out, exist_ok=True)
torch.manual_seed(0)
images = write_images(out)

resnet_moco = with_valid_statistics(moco_resnet(), seed=11).eval()
lars = {"lr": 4.8, "weight_decay": 1e-6, "momentum": 0.9, "trust_coefficient": 0.001}
save_moco(resnet_moco, "resnet50", os.path.join(out, "r-50-1000ep.pth.tar"), optimizer_state(resnet_moco, {"mu": lambda: torch.zeros(1)}, lars))
moco_resnet50 = torchvision.models.resnet50().eval()
missing = moco_resnet50.load_state_dict(backbone_of(resnet_moco, "fc"), strict=False).missing_keys
assert set(missing) == {"fc.weight", "fc.bias"}, missing

vit_moco = with_valid_statistics(moco_vit(), seed=12).eval()
for encoder in (vit_moco.base_encoder, vit_moco.momentum_encoder):
    encoder.build_2d_sincos_position_embedding()  # fixed, never trained: the checkpoint holds the table itself
adamw = {"lr": 2.4e-3, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.1, "amsgrad": False}
adamw_buffers = {"step": lambda: 375300, "exp_avg": lambda: torch.zeros(1), "exp_avg_sq": lambda: torch.zeros(1)}
save_moco(vit_moco, "vit_small", os.path.join(out, "vit-s-300ep.pth.tar"), optimizer_state(vit_moco, adamw_buffers, adamw))
vits16 = vit_small().eval()
missing = vits16.load_state_dict(backbone_of(vit_moco, "head"), strict=False).missing_keys
assert set(missing) == {"head.weight", "head.bias"}, missing
# The official module built for 160-pixel inputs: the same weights, its own sine-cosine table for 10x10 patches.
vits16_160 = vit_small(img_size=160).eval()
weights_160 = {name: tensor for name, tensor in backbone_of(vit_moco, "head").items() if name != "pos_embed"}
missing = vits16_160.load_state_dict(weights_160, strict=False).missing_keys
assert set(missing) == {"head.weight", "head.bias", "pos_embed"}, missing
assert vits16_160.pos_embed.shape == (1, 101, 384)

barlow = with_valid_statistics(torchvision.models.resnet50(zero_init_residual=True), seed=13)
barlow.fc = nn.Identity()
torch.save(barlow.state_dict(), os.path.join(out, "resnet50.pth"))
barlow_resnet50 = torchvision.models.resnet50().eval()
# evaluate.py: the file lacks only the classifier.
missing, unexpected = barlow_resnet50.load_state_dict(torch.load(os.path.join(out, "resnet50.pth")), strict=False)
assert missing == ["fc.weight", "fc.bias"] and unexpected == [], (missing, unexpected)


def pooled(resnet):
    trunk = nn.Sequential(*list(resnet.children())[:-1])
    return lambda batch: trunk(batch).flatten(1)


# main_lincls.py's and evaluate.py's validation transform: Resize(256) (torchvision's default bilinear), CenterCrop(224), ImageNet mean/std.
at_224 = evaluation_transform(256, 224, interpolation=BILINEAR)
write_reference(out, {
    "mocov3-resnet50": embed_images(images, at_224, pooled(moco_resnet50)),
    "mocov3-vits16": embed_images(images, at_224, vits16.forward_features),
    "mocov3-vits16-160": embed_images(images, evaluation_transform(183, 160, interpolation=BILINEAR), vits16_160.forward_features),
    "barlowtwins-resnet50": embed_images(images, at_224, pooled(barlow_resnet50)),
})
print("wrote", out)
