"""Checkpoint parity of MAE and RETFound (parity-mae.test.ts): full-size random-weight checkpoints saved by
torch.save in the layout MAE and RETFound publish, and PyTorch's embeddings of the test images through the
linear-probe evaluation transform.

    /usr/bin/python3 reference_mae.py OUT

The network is written from MAE's models_vit.py (github.com/facebookresearch/mae) and the timm 0.3 ViT it
subclasses (timm/models/vision_transformer.py: PatchEmbed, Attention, Mlp, Block), with their module and
attribute names, so that state_dict() gives the published keys; the position resampling from MAE's
util/pos_embed.py (interpolate_pos_embed) and the loading from main_linprobe.py. The decoder of
models_mae.py is saved beside the encoder where the published file carries it.

Writes mae_pretrain_vit_base.pth ({'model': encoder}, as the published pretraining files),
RETFound_mae_natureCFP.pth ({'model': encoder, decoder and mask token}, ViT-L/16, as RETFound's), the test
images and reference.json.
"""
import os
import sys

import torch
from torch import nn
from torch.nn import functional as F

from checkpoint_reference import embed_images, evaluation_transform, randomize, write_images, write_reference
from timm_vit import Block  # timm 0.3's, as models_vit.py subclasses it


class PatchEmbed(nn.Module):
    """timm's PatchEmbed: a convolution of kernel and stride `patch_size`; the input must be `img_size`."""

    def __init__(self, img_size, patch_size, embed_dim):
        super().__init__()
        self.img_size = img_size
        self.num_patches = (img_size // patch_size) ** 2
        self.proj = nn.Conv2d(3, embed_dim, kernel_size=patch_size, stride=patch_size)

    def forward(self, x):
        assert x.shape[2] == self.img_size and x.shape[3] == self.img_size, "timm 0.3's PatchEmbed takes img_size only"
        return self.proj(x).flatten(2).transpose(1, 2)


def layer_norm(dim):
    """models_vit.py's norm_layer: partial(nn.LayerNorm, eps=1e-6)."""
    return nn.LayerNorm(dim, eps=1e-6)


class VisionTransformer(nn.Module):
    """models_vit.py's VisionTransformer (timm's, with its forward_features), without the classifier head
    the linear probe adds: with global_pool the final `norm` is deleted and `fc_norm` made in its place."""

    def __init__(self, img_size, patch_size, embed_dim, depth, num_heads, mlp_ratio=4, global_pool=False):
        super().__init__()
        self.patch_embed = PatchEmbed(img_size, patch_size, embed_dim)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, self.patch_embed.num_patches + 1, embed_dim))
        self.blocks = nn.ModuleList([Block(embed_dim, num_heads, mlp_ratio, layer_norm) for _ in range(depth)])
        self.global_pool = global_pool
        if global_pool:
            self.fc_norm = layer_norm(embed_dim)
        else:
            self.norm = layer_norm(embed_dim)

    def forward_features(self, x):
        x = self.patch_embed(x)
        x = torch.cat((self.cls_token.expand(x.shape[0], -1, -1), x), dim=1)
        x = x + self.pos_embed
        for block in self.blocks:
            x = block(x)
        if self.global_pool:
            return self.fc_norm(x[:, 1:, :].mean(dim=1))
        return self.norm(x)[:, 0]


def vit_base_patch16(**kwargs):
    return VisionTransformer(patch_size=16, embed_dim=768, depth=12, num_heads=12, mlp_ratio=4, **kwargs)


def vit_large_patch16(**kwargs):
    return VisionTransformer(patch_size=16, embed_dim=1024, depth=24, num_heads=16, mlp_ratio=4, **kwargs)


def decoder_state(embed_dim, num_patches, patch_size, seed):
    """models_mae.py's decoder with its defaults (width 512, 8 blocks of 16 heads), seeded: the keys the
    published full checkpoints carry beside the encoder."""
    decoder = nn.Module()
    decoder.decoder_embed = nn.Linear(embed_dim, 512, bias=True)
    decoder.mask_token = nn.Parameter(torch.zeros(1, 1, 512))
    decoder.decoder_pos_embed = nn.Parameter(torch.zeros(1, num_patches + 1, 512))
    decoder.decoder_blocks = nn.ModuleList([Block(512, 16, 4, layer_norm) for _ in range(8)])
    decoder.decoder_norm = layer_norm(512)
    decoder.decoder_pred = nn.Linear(512, patch_size**2 * 3, bias=True)
    return randomize(decoder, seed).state_dict()


def interpolate_pos_embed(model, checkpoint_model):
    """util/pos_embed.py: the stored patch positions resampled bicubically (align_corners=False) to the
    model's grid when the sizes differ; the class position kept."""
    stored = checkpoint_model["pos_embed"]
    width = stored.shape[-1]
    extra = model.pos_embed.shape[-2] - model.patch_embed.num_patches
    old = int((stored.shape[-2] - extra) ** 0.5)
    new = int(model.patch_embed.num_patches**0.5)
    if old == new:
        return
    patches = stored[:, extra:].reshape(-1, old, old, width).permute(0, 3, 1, 2)
    patches = F.interpolate(patches, size=(new, new), mode="bicubic", align_corners=False)
    checkpoint_model["pos_embed"] = torch.cat((stored[:, :extra], patches.permute(0, 2, 3, 1).flatten(1, 2)), dim=1)


def linear_probe_model(build, checkpoint, img_size, global_pool):
    """main_linprobe.py's loading: the model for the input size, positions interpolated, the checkpoint's
    `model` loaded with strict=False; only fc_norm (global pool) may be missing, left as made (1 and 0)."""
    model = build(img_size=img_size, global_pool=global_pool)
    checkpoint_model = dict(checkpoint["model"])
    interpolate_pos_embed(model, checkpoint_model)
    message = model.load_state_dict(checkpoint_model, strict=False)
    assert set(message.missing_keys) == ({"fc_norm.weight", "fc_norm.bias"} if global_pool else set()), message
    return model.eval()


out = sys.argv[1]
os.makedirs(out, exist_ok=True)
torch.manual_seed(0)
images = write_images(out)

# mae_pretrain_vit_base.pth: the encoder alone, under 'model'.
base = {"model": randomize(vit_base_patch16(img_size=224), seed=11).state_dict()}
torch.save(base, os.path.join(out, "mae_pretrain_vit_base.pth"))

# RETFound's file: models_mae.py's whole state dict (encoder, decoder, mask token) under 'model'.
large = randomize(vit_large_patch16(img_size=224), seed=12).state_dict()
retfound = {"model": {**large, **decoder_state(1024, 196, 16, seed=13)}}
torch.save(retfound, os.path.join(out, "RETFound_mae_natureCFP.pth"))


def features(model):
    return lambda batch: model.forward_features(batch)


write_reference(out, {
    "mae-vitb16": embed_images(images, evaluation_transform(256, 224), features(linear_probe_model(vit_base_patch16, base, 224, False))),
    "mae-vitb16-160": embed_images(images, evaluation_transform(183, 160), features(linear_probe_model(vit_base_patch16, base, 160, False))),
    "mae-vitb16-global-pool": embed_images(images, evaluation_transform(256, 224), features(linear_probe_model(vit_base_patch16, base, 224, True))),
    "retfound": embed_images(images, evaluation_transform(256, 224), features(linear_probe_model(vit_large_patch16, retfound, 224, True))),
})
print("wrote", out)
