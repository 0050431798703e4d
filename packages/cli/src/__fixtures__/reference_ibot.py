"""Checkpoint parity of @medssl/backbone-ibot (parity-ibot.test.ts): seeded random weights saved in the layouts
iBOT and Phikon publish, and PyTorch's embeddings of the test images through each model's evaluation transform.

    /usr/bin/python3 reference_ibot.py OUT

Writes into OUT:
- ibot_vits16_teacher.pth: iBOT's ViT-S/16 as `checkpoint_teacher.pth` is laid out ({'state_dict': backbone},
  as bytedance/ibot's extract_backbone_weights.py writes it, here with the iBOT head kept as --with_head keeps it);
- phikon/model.safetensors: a ViT-B/16 as transformers' ViTModel saves it (owkin/phikon's file), pooler included;
- the test images and reference.json.

The networks are written here from the official model code, with its module names so that state_dict() gives
the published keys: IbotVisionTransformer from bytedance/ibot models/vision_transformer.py (DINO's layout), and
ViTModel from huggingface/transformers src/transformers/models/vit/modeling_vit.py.
"""
import math
import os
import sys

import torch
from torch import nn
from torch.nn import functional as F
from torchvision import transforms

from checkpoint_reference import embed_images, evaluation_transform, randomize, save_safetensors, write_images, write_reference

BILINEAR = transforms.InterpolationMode.BILINEAR


# ----- iBOT: models/vision_transformer.py (vit_small: width 384, depth 12, 6 heads, qkv_bias, LayerNorm eps 1e-6) -----

class IbotMlp(nn.Module):
    def __init__(self, width, hidden):
        super().__init__()
        self.fc1 = nn.Linear(width, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, width)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class IbotAttention(nn.Module):
    def __init__(self, width, heads):
        super().__init__()
        self.heads = heads
        self.scale = (width // heads) ** -0.5
        self.qkv = nn.Linear(width, 3 * width, bias=True)
        self.proj = nn.Linear(width, width)

    def forward(self, x):
        batch, tokens, width = x.shape
        qkv = self.qkv(x).reshape(batch, tokens, 3, self.heads, width // self.heads).permute(2, 0, 3, 1, 4)
        query, key, value = qkv[0], qkv[1], qkv[2]
        weights = ((query @ key.transpose(-2, -1)) * self.scale).softmax(dim=-1)
        return self.proj((weights @ value).transpose(1, 2).reshape(batch, tokens, width))


class IbotBlock(nn.Module):
    def __init__(self, width, heads):
        super().__init__()
        self.norm1 = nn.LayerNorm(width, eps=1e-6)
        self.attn = IbotAttention(width, heads)
        self.norm2 = nn.LayerNorm(width, eps=1e-6)
        self.mlp = IbotMlp(width, 4 * width)

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class IbotPatchEmbed(nn.Module):
    def __init__(self, patch, width):
        super().__init__()
        self.patch_size = patch
        self.proj = nn.Conv2d(3, width, kernel_size=patch, stride=patch)

    def forward(self, x):
        return self.proj(x)


class IbotVisionTransformer(nn.Module):
    """iBOT's VisionTransformer for 224-pixel inputs (14 x 14 positions); masked_embed only where the student
    has it (masked_im_modeling)."""

    def __init__(self, patch=16, width=384, depth=12, heads=6, masked_im_modeling=False):
        super().__init__()
        self.patch_embed = IbotPatchEmbed(patch, width)
        grid = 224 // patch
        self.cls_token = nn.Parameter(torch.zeros(1, 1, width))
        self.pos_embed = nn.Parameter(torch.zeros(1, grid * grid + 1, width))
        self.blocks = nn.ModuleList([IbotBlock(width, heads) for _ in range(depth)])
        self.norm = nn.LayerNorm(width, eps=1e-6)
        if masked_im_modeling:
            self.masked_embed = nn.Parameter(torch.zeros(1, width))

    def interpolate_pos_encoding(self, x, w, h):
        # As iBOT (after DINO): the stored table when the patch count and a square input match; otherwise
        # bicubic with the scale factor (grid + 0.1) / stored, no antialiasing, the class position kept.
        patches = x.shape[1] - 1
        stored = self.pos_embed.shape[1] - 1
        if patches == stored and w == h:
            return self.pos_embed
        side = int(math.sqrt(stored))
        width = x.shape[-1]
        w0 = w // self.patch_embed.patch_size + 0.1
        h0 = h // self.patch_embed.patch_size + 0.1
        grid = self.pos_embed[:, 1:].reshape(1, side, side, width).permute(0, 3, 1, 2)
        grid = F.interpolate(grid, scale_factor=(w0 / side, h0 / side), mode="bicubic")
        assert int(w0) == grid.shape[-2] and int(h0) == grid.shape[-1]
        grid = grid.permute(0, 2, 3, 1).reshape(1, -1, width)
        return torch.cat((self.pos_embed[:, :1], grid), dim=1)

    def prepare_tokens(self, x):
        batch, _, w, h = x.shape
        x = self.patch_embed(x).flatten(2).transpose(1, 2)
        x = torch.cat((self.cls_token.expand(batch, -1, -1), x), dim=1)
        return x + self.interpolate_pos_encoding(x, w, h)

    def get_intermediate_layers(self, x, n=1):
        x = self.prepare_tokens(x)
        outputs = []
        for index, block in enumerate(self.blocks):
            x = block(x)
            if len(self.blocks) - index <= n:
                outputs.append(self.norm(x))
        return outputs


def ibot_linear_features(model, images, n_last_blocks, avgpool_patchtokens):
    """evaluation/eval_linear.py's input to the linear classifier: class tokens of the last n blocks (avgpool 0),
    then (avgpool 2) the mean of the last block's patch tokens, every token through the final norm."""
    outputs = model.get_intermediate_layers(images, n_last_blocks)
    parts = [x[:, 0] for x in outputs]
    if avgpool_patchtokens == 2:
        parts.append(torch.mean(outputs[-1][:, 1:], dim=1))
    return torch.cat(parts, dim=-1)


# ----- transformers: models/vit/modeling_vit.py (ViTModel), module names as transformers saves them -----

class ViTPatchEmbeddings(nn.Module):
    def __init__(self, patch, width):
        super().__init__()
        self.projection = nn.Conv2d(3, width, kernel_size=patch, stride=patch)

    def forward(self, pixels):
        return self.projection(pixels).flatten(2).transpose(1, 2)


class ViTEmbeddings(nn.Module):
    def __init__(self, patch, width, image_size=224):
        super().__init__()
        self.patch_size = patch
        self.cls_token = nn.Parameter(torch.zeros(1, 1, width))
        self.patch_embeddings = ViTPatchEmbeddings(patch, width)
        count = (image_size // patch) ** 2
        self.position_embeddings = nn.Parameter(torch.zeros(1, count + 1, width))

    def interpolate_pos_encoding(self, embeddings, height, width):
        # transformers' rule: the stored table for the same patch count and a square input; otherwise
        # bicubic to the new grid's size, align_corners=False, the class position kept.
        patches = embeddings.shape[1] - 1
        positions = self.position_embeddings.shape[1] - 1
        if patches == positions and height == width:
            return self.position_embeddings
        side = int(positions**0.5)
        dim = embeddings.shape[-1]
        grid = self.position_embeddings[:, 1:].reshape(1, side, side, dim).permute(0, 3, 1, 2)
        grid = F.interpolate(grid, size=(height // self.patch_size, width // self.patch_size), mode="bicubic", align_corners=False)
        grid = grid.permute(0, 2, 3, 1).reshape(1, -1, dim)
        return torch.cat((self.position_embeddings[:, :1], grid), dim=1)

    def forward(self, pixels, interpolate_pos_encoding=False):
        batch, _, height, width = pixels.shape
        embeddings = self.patch_embeddings(pixels)
        embeddings = torch.cat((self.cls_token.expand(batch, -1, -1), embeddings), dim=1)
        if interpolate_pos_encoding:
            return embeddings + self.interpolate_pos_encoding(embeddings, height, width)
        return embeddings + self.position_embeddings


class ViTSelfAttention(nn.Module):
    def __init__(self, width, heads):
        super().__init__()
        self.heads = heads
        self.head_size = width // heads
        self.query = nn.Linear(width, width, bias=True)
        self.key = nn.Linear(width, width, bias=True)
        self.value = nn.Linear(width, width, bias=True)

    def split_heads(self, x):
        return x.view(x.shape[0], x.shape[1], self.heads, self.head_size).permute(0, 2, 1, 3)

    def forward(self, hidden):
        query, key, value = self.split_heads(self.query(hidden)), self.split_heads(self.key(hidden)), self.split_heads(self.value(hidden))
        weights = F.softmax(torch.matmul(query, key.transpose(-1, -2)) * self.head_size**-0.5, dim=-1, dtype=torch.float32)
        context = torch.matmul(weights, value).transpose(1, 2).contiguous()
        return context.view(context.shape[0], context.shape[1], -1)


class ViTSelfOutput(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.dense = nn.Linear(width, width)


class ViTAttention(nn.Module):
    def __init__(self, width, heads):
        super().__init__()
        self.attention = ViTSelfAttention(width, heads)
        self.output = ViTSelfOutput(width)

    def forward(self, hidden):
        return self.output.dense(self.attention(hidden))


class ViTIntermediate(nn.Module):
    def __init__(self, width, hidden):
        super().__init__()
        self.dense = nn.Linear(width, hidden)

    def forward(self, x):
        return F.gelu(self.dense(x))  # hidden_act "gelu": the exact (erf) GELU


class ViTOutput(nn.Module):
    def __init__(self, width, hidden):
        super().__init__()
        self.dense = nn.Linear(hidden, width)

    def forward(self, x, residual):
        return self.dense(x) + residual


class ViTLayer(nn.Module):
    def __init__(self, width, heads, hidden, eps):
        super().__init__()
        self.attention = ViTAttention(width, heads)
        self.intermediate = ViTIntermediate(width, hidden)
        self.output = ViTOutput(width, hidden)
        self.layernorm_before = nn.LayerNorm(width, eps=eps)
        self.layernorm_after = nn.LayerNorm(width, eps=eps)

    def forward(self, hidden):
        hidden = self.attention(self.layernorm_before(hidden)) + hidden
        return self.output(self.intermediate(self.layernorm_after(hidden)), hidden)


class ViTEncoder(nn.Module):
    def __init__(self, width, depth, heads, hidden, eps):
        super().__init__()
        self.layer = nn.ModuleList([ViTLayer(width, heads, hidden, eps) for _ in range(depth)])

    def forward(self, hidden):
        for layer in self.layer:
            hidden = layer(hidden)
        return hidden


class ViTPooler(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.dense = nn.Linear(width, width)


class ViTModel(nn.Module):
    """owkin/phikon's config.json: patch 16, hidden_size 768, 12 layers, 12 heads, intermediate_size 3072,
    qkv_bias, layer_norm_eps 1e-6; with the pooler ViTModel has by default (unused for Phikon's features)."""

    def __init__(self, patch=16, width=768, depth=12, heads=12, hidden=3072, eps=1e-6):
        super().__init__()
        self.embeddings = ViTEmbeddings(patch, width)
        self.encoder = ViTEncoder(width, depth, heads, hidden, eps)
        self.layernorm = nn.LayerNorm(width, eps=eps)
        self.pooler = ViTPooler(width)

    def last_hidden_state(self, pixels, interpolate_pos_encoding=False):
        return self.layernorm(self.encoder(self.embeddings(pixels, interpolate_pos_encoding)))


def phikon_features(model, images):
    """The model card's features: last_hidden_state[:, 0]; other sizes with interpolate_pos_encoding=True."""
    interpolate = images.shape[-1] != 224 or images.shape[-2] != 224
    return model.last_hidden_state(images, interpolate_pos_encoding=interpolate)[:, 0]


def main(out):
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(0)
    images = write_images(out)

    vit_small = randomize(IbotVisionTransformer(), seed=3).eval()
    generator = torch.Generator().manual_seed(4)
    head = {  # iBOTHead keys extract_backbone_weights.py --with_head keeps; medssl ignores them
        "head.mlp.0.weight": torch.randn(2048, 384, generator=generator) * 0.01,
        "head.last_layer.weight_g": torch.ones(8192, 1),
        "head.last_layer2.weight_v": torch.randn(8192, 256, generator=generator) * 0.01,
    }
    torch.save({"state_dict": {**vit_small.state_dict(), **head}}, os.path.join(out, "ibot_vits16_teacher.pth"))

    phikon = randomize(ViTModel(), seed=5).eval()
    os.makedirs(os.path.join(out, "phikon"), exist_ok=True)
    save_safetensors(os.path.join(out, "phikon", "model.safetensors"), phikon.state_dict())

    vits16_linear = lambda batch: ibot_linear_features(vit_small, batch, n_last_blocks=4, avgpool_patchtokens=0)  # noqa: E731
    phikon_embed = lambda batch: phikon_features(phikon, batch)  # noqa: E731
    write_reference(out, {
        # eval_linear.py: Resize(256, interpolation=3 (bicubic)), CenterCrop(224), ImageNet mean/std.
        "ibot-vits16": embed_images(images, evaluation_transform(256, 224), vits16_linear),
        "ibot-vits16-160": embed_images(images, evaluation_transform(183, 160), vits16_linear),
        # Owkin's Phikon tutorial: Resize(224) (bilinear), CenterCrop(224), ImageNet mean/std.
        "phikon": embed_images(images, evaluation_transform(224, 224, interpolation=BILINEAR), phikon_embed),
        "phikon-160": embed_images(images, evaluation_transform(183, 160, interpolation=BILINEAR), phikon_embed),
    })
    print("wrote", out)


if __name__ == "__main__":
    main(sys.argv[1])
