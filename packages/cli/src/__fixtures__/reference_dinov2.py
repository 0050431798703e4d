"""Checkpoint parity of @medssl/backbone-dinov2 (parity-dinov2.test.ts): full-size random-weight checkpoints
in DINOv2's two published layouts, and PyTorch's embeddings of the test images.

    /usr/bin/python3 reference_dinov2.py OUT

Two reference networks, each written from its official code with the module and attribute names that code
uses, so that `state_dict()` yields the keys of the published files:

- `DinoVisionTransformer`, from facebookresearch/dinov2 (dinov2/models/vision_transformer.py and
  dinov2/layers/{patch_embed,attention,block,layer_scale,mlp,swiglu_ffn}.py), as dinov2/hub/backbones.py
  builds the hub models: img_size 518, patch 14, LayerScale (init_values 1.0), block_chunks 0, and
  `interpolate_offset` 0.1 without antialiasing, or 0.0 with antialiasing for the `_reg4` models. Its
  embedding is `create_linear_input` (dinov2/eval/linear.py) over `get_intermediate_layers(n,
  return_class_token=True)`, the final norm applied to every block taken.
- transformers' `Dinov2Model` (src/transformers/models/dinov2/modeling_dinov2.py): query, key and value
  apart, `layer_scale1.lambda1`, position resampling to the output size without antialiasing; the class
  token of `last_hidden_state` (after `layernorm`), and the mean of its patch tokens.

The attention is written out (softmax(q·kᵀ·scale)·v), as PyTorch 1.13 has no scaled_dot_product_attention;
both official codes compute exactly that in eval mode.

Writes into OUT:
- dinov2_vits14_pretrain.pth and dinov2_vits14_reg4_pretrain.pth (torch.save of the state dict, as the hub
  files are, `mask_token` included);
- dinov2-small/model.safetensors (ViT-S/14) and rad-dino/model.safetensors (ViT-B/14), as
  `save_pretrained` writes a `Dinov2Model`, `embeddings.mask_token` included;
- the test images and reference.json.
"""
import math
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

from checkpoint_reference import embed_images, evaluation_transform, randomize, save_safetensors, write_images, write_reference

# microsoft/rad-dino's preprocessor_config.json: mean 0.5307 and std 0.2583 on every channel.
RAD_DINO_MEAN = [0.5307] * 3
RAD_DINO_STD = [0.2583] * 3


# --- facebookresearch/dinov2 -----------------------------------------------------------------------------


class PatchEmbed(nn.Module):
    def __init__(self, patch_size, embed_dim):
        super().__init__()
        self.proj = nn.Conv2d(3, embed_dim, kernel_size=patch_size, stride=patch_size)

    def forward(self, x):
        return self.proj(x).flatten(2).transpose(1, 2)


class Attention(nn.Module):
    def __init__(self, dim, num_heads):
        super().__init__()
        self.num_heads = num_heads
        self.scale = (dim // num_heads) ** -0.5
        self.qkv = nn.Linear(dim, dim * 3, bias=True)
        self.proj = nn.Linear(dim, dim, bias=True)

    def forward(self, x):
        B, N, C = x.shape
        qkv = self.qkv(x).reshape(B, N, 3, self.num_heads, C // self.num_heads)
        q, k, v = [t.transpose(1, 2) for t in torch.unbind(qkv, 2)]
        attention = (q @ k.transpose(-2, -1) * self.scale).softmax(dim=-1)
        return self.proj((attention @ v).transpose(1, 2).reshape(B, N, C))


class LayerScale(nn.Module):
    def __init__(self, dim, init_values=1.0):
        super().__init__()
        self.gamma = nn.Parameter(init_values * torch.ones(dim))

    def forward(self, x):
        return x * self.gamma


class Mlp(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class SwiGLUFFNFused(nn.Module):
    """dinov2/layers/swiglu_ffn.py: hidden (int(hidden * 2 / 3) + 7) // 8 * 8; silu(x1) * x2 of w12's halves."""

    def __init__(self, dim, hidden):
        super().__init__()
        hidden = (int(hidden * 2 / 3) + 7) // 8 * 8
        self.w12 = nn.Linear(dim, 2 * hidden)
        self.w3 = nn.Linear(hidden, dim)

    def forward(self, x):
        x1, x2 = self.w12(x).chunk(2, dim=-1)
        return self.w3(F.silu(x1) * x2)


class Block(nn.Module):
    def __init__(self, dim, num_heads, ffn_layer):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = Attention(dim, num_heads)
        self.ls1 = LayerScale(dim)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = ffn_layer(dim, 4 * dim)
        self.ls2 = LayerScale(dim)

    def forward(self, x):
        x = x + self.ls1(self.attn(self.norm1(x)))
        return x + self.ls2(self.mlp(self.norm2(x)))


class DinoVisionTransformer(nn.Module):
    def __init__(self, embed_dim, depth, num_heads, ffn_layer=Mlp, num_register_tokens=0, interpolate_antialias=False, interpolate_offset=0.1,
                 img_size=518, patch_size=14):
        super().__init__()
        self.patch_size = patch_size
        self.num_register_tokens = num_register_tokens
        self.interpolate_antialias = interpolate_antialias
        self.interpolate_offset = interpolate_offset
        self.patch_embed = PatchEmbed(patch_size, embed_dim)
        num_patches = (img_size // patch_size) ** 2
        self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, num_patches + 1, embed_dim))
        self.register_tokens = nn.Parameter(torch.zeros(1, num_register_tokens, embed_dim)) if num_register_tokens else None
        self.blocks = nn.ModuleList([Block(embed_dim, num_heads, ffn_layer) for _ in range(depth)])
        self.norm = nn.LayerNorm(embed_dim, eps=1e-6)
        self.head = nn.Identity()
        self.mask_token = nn.Parameter(torch.zeros(1, embed_dim))

    def interpolate_pos_encoding(self, x, w, h):
        npatch = x.shape[1] - 1
        N = self.pos_embed.shape[1] - 1
        if npatch == N and w == h:
            return self.pos_embed
        class_pos_embed = self.pos_embed[:, 0]
        patch_pos_embed = self.pos_embed[:, 1:]
        dim = x.shape[-1]
        w0, h0 = w // self.patch_size, h // self.patch_size
        M = int(math.sqrt(N))
        kwargs = {}
        if self.interpolate_offset:
            kwargs["scale_factor"] = (float(w0 + self.interpolate_offset) / M, float(h0 + self.interpolate_offset) / M)
        else:
            kwargs["size"] = (w0, h0)
        patch_pos_embed = F.interpolate(patch_pos_embed.reshape(1, M, M, dim).permute(0, 3, 1, 2), mode="bicubic", antialias=self.interpolate_antialias, **kwargs)
        assert (w0, h0) == patch_pos_embed.shape[-2:]
        patch_pos_embed = patch_pos_embed.permute(0, 2, 3, 1).view(1, -1, dim)
        return torch.cat((class_pos_embed.unsqueeze(0), patch_pos_embed), dim=1)

    def prepare_tokens(self, x):
        _, _, w, h = x.shape
        x = self.patch_embed(x)
        x = torch.cat((self.cls_token.expand(x.shape[0], -1, -1), x), dim=1)
        x = x + self.interpolate_pos_encoding(x, w, h)
        if self.register_tokens is not None:
            x = torch.cat((x[:, :1], self.register_tokens.expand(x.shape[0], -1, -1), x[:, 1:]), dim=1)
        return x

    def get_intermediate_layers(self, x, n):
        """(patch tokens, class token) of each of the last n blocks, after the final norm (norm=True)."""
        x = self.prepare_tokens(x)
        outputs = []
        for i, block in enumerate(self.blocks):
            x = block(x)
            if i >= len(self.blocks) - n:
                outputs.append(x)
        outputs = [self.norm(out) for out in outputs]
        return tuple(zip([out[:, 1 + self.num_register_tokens:] for out in outputs], [out[:, 0] for out in outputs]))


def create_linear_input(x_tokens_list, use_n_blocks, use_avgpool):
    """dinov2/eval/linear.py: class tokens of the last n blocks, then (avgpool) the last block's patch-token mean."""
    intermediate_output = x_tokens_list[-use_n_blocks:]
    output = torch.cat([class_token for _, class_token in intermediate_output], dim=-1)
    if use_avgpool:
        output = torch.cat((output, torch.mean(intermediate_output[-1][0], dim=1)), dim=-1)
    return output.float()


def linear_input(model, n, avgpool):
    return lambda batch: create_linear_input(model.get_intermediate_layers(batch, 4), n, avgpool)


# --- transformers' Dinov2Model ---------------------------------------------------------------------------


class Dinov2PatchEmbeddings(nn.Module):
    def __init__(self, hidden_size, patch_size):
        super().__init__()
        self.projection = nn.Conv2d(3, hidden_size, kernel_size=patch_size, stride=patch_size)

    def forward(self, pixel_values):
        return self.projection(pixel_values).flatten(2).transpose(1, 2)


class Dinov2Embeddings(nn.Module):
    def __init__(self, hidden_size, patch_size, image_size=518):
        super().__init__()
        self.cls_token = nn.Parameter(torch.zeros(1, 1, hidden_size))
        self.mask_token = nn.Parameter(torch.zeros(1, hidden_size))
        self.patch_embeddings = Dinov2PatchEmbeddings(hidden_size, patch_size)
        self.position_embeddings = nn.Parameter(torch.zeros(1, (image_size // patch_size) ** 2 + 1, hidden_size))
        self.patch_size = patch_size

    def interpolate_pos_encoding(self, embeddings, height, width):
        """transformers' rule since v4.45: the output size, bicubic, align_corners=False, no antialiasing."""
        num_patches = embeddings.shape[1] - 1
        num_positions = self.position_embeddings.shape[1] - 1
        if num_patches == num_positions and height == width:
            return self.position_embeddings
        class_pos_embed = self.position_embeddings[:, :1]
        patch_pos_embed = self.position_embeddings[:, 1:]
        dim = embeddings.shape[-1]
        new_height, new_width = height // self.patch_size, width // self.patch_size
        side = int(num_positions ** 0.5)
        patch_pos_embed = patch_pos_embed.reshape(1, side, side, dim).permute(0, 3, 1, 2)
        patch_pos_embed = F.interpolate(patch_pos_embed, size=(new_height, new_width), mode="bicubic", align_corners=False)
        patch_pos_embed = patch_pos_embed.permute(0, 2, 3, 1).view(1, -1, dim)
        return torch.cat((class_pos_embed, patch_pos_embed), dim=1)

    def forward(self, pixel_values):
        batch_size, _, height, width = pixel_values.shape
        embeddings = self.patch_embeddings(pixel_values)
        embeddings = torch.cat((self.cls_token.expand(batch_size, -1, -1), embeddings), dim=1)
        return embeddings + self.interpolate_pos_encoding(embeddings, height, width)


class Dinov2SelfAttention(nn.Module):
    def __init__(self, hidden_size, num_heads):
        super().__init__()
        self.num_attention_heads = num_heads
        self.attention_head_size = hidden_size // num_heads
        self.scaling = self.attention_head_size ** -0.5
        self.query = nn.Linear(hidden_size, hidden_size, bias=True)
        self.key = nn.Linear(hidden_size, hidden_size, bias=True)
        self.value = nn.Linear(hidden_size, hidden_size, bias=True)

    def forward(self, hidden_states):
        batch_size = hidden_states.shape[0]
        shape = (batch_size, -1, self.num_attention_heads, self.attention_head_size)
        key = self.key(hidden_states).view(*shape).transpose(1, 2)
        value = self.value(hidden_states).view(*shape).transpose(1, 2)
        query = self.query(hidden_states).view(*shape).transpose(1, 2)
        weights = F.softmax(torch.matmul(query, key.transpose(-1, -2)) * self.scaling, dim=-1, dtype=torch.float32)
        context = torch.matmul(weights, value).transpose(1, 2).contiguous()
        return context.reshape(context.size()[:-2] + (-1,))


class Dinov2SelfOutput(nn.Module):
    def __init__(self, hidden_size):
        super().__init__()
        self.dense = nn.Linear(hidden_size, hidden_size)

    def forward(self, hidden_states):
        return self.dense(hidden_states)


class Dinov2Attention(nn.Module):
    def __init__(self, hidden_size, num_heads):
        super().__init__()
        self.attention = Dinov2SelfAttention(hidden_size, num_heads)
        self.output = Dinov2SelfOutput(hidden_size)

    def forward(self, hidden_states):
        return self.output(self.attention(hidden_states))


class Dinov2LayerScale(nn.Module):
    def __init__(self, hidden_size, layerscale_value=1.0):
        super().__init__()
        self.lambda1 = nn.Parameter(layerscale_value * torch.ones(hidden_size))

    def forward(self, hidden_state):
        return hidden_state * self.lambda1


class Dinov2MLP(nn.Module):
    def __init__(self, hidden_size, mlp_ratio=4):
        super().__init__()
        self.fc1 = nn.Linear(hidden_size, hidden_size * mlp_ratio)
        self.activation = nn.GELU()  # ACT2FN["gelu"]: the exact GELU
        self.fc2 = nn.Linear(hidden_size * mlp_ratio, hidden_size)

    def forward(self, hidden_state):
        return self.fc2(self.activation(self.fc1(hidden_state)))


class Dinov2Layer(nn.Module):
    def __init__(self, hidden_size, num_heads):
        super().__init__()
        self.norm1 = nn.LayerNorm(hidden_size, eps=1e-6)
        self.attention = Dinov2Attention(hidden_size, num_heads)
        self.layer_scale1 = Dinov2LayerScale(hidden_size)
        self.norm2 = nn.LayerNorm(hidden_size, eps=1e-6)
        self.mlp = Dinov2MLP(hidden_size)
        self.layer_scale2 = Dinov2LayerScale(hidden_size)

    def forward(self, hidden_states):
        hidden_states = self.layer_scale1(self.attention(self.norm1(hidden_states))) + hidden_states
        return self.layer_scale2(self.mlp(self.norm2(hidden_states))) + hidden_states


class Dinov2Encoder(nn.Module):
    def __init__(self, hidden_size, num_layers, num_heads):
        super().__init__()
        self.layer = nn.ModuleList([Dinov2Layer(hidden_size, num_heads) for _ in range(num_layers)])

    def forward(self, hidden_states):
        for layer_module in self.layer:
            hidden_states = layer_module(hidden_states)
        return hidden_states


class Dinov2Model(nn.Module):
    def __init__(self, hidden_size, num_layers, num_heads, patch_size=14):
        super().__init__()
        self.embeddings = Dinov2Embeddings(hidden_size, patch_size)
        self.encoder = Dinov2Encoder(hidden_size, num_layers, num_heads)
        self.layernorm = nn.LayerNorm(hidden_size, eps=1e-6)

    def forward(self, pixel_values):
        """last_hidden_state (after layernorm); pooler_output is its class token."""
        return self.layernorm(self.encoder(self.embeddings(pixel_values)))


def class_token(model):
    """The model card's RAD-DINO embedding: `pooler_output`, the class token after the final layernorm."""
    return lambda batch: model(batch)[:, 0]


def class_token_and_patch_mean(model):
    """Dinov2ForImageClassification's linear input: the class token and the mean of the patch tokens."""
    return lambda batch: (lambda hidden: torch.cat([hidden[:, 0], hidden[:, 1:].mean(dim=1)], dim=1))(model(batch))


# --- the checkpoints and the reference -------------------------------------------------------------------

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
torch.manual_seed(0)
images = write_images(out)

# ViT-S/14 from the torch hub, plain and with 4 registers (hub/backbones.py's offsets and antialiasing).
vits14 = randomize(DinoVisionTransformer(384, 12, 6), seed=11).eval()
torch.save(vits14.state_dict(), os.path.join(out, "dinov2_vits14_pretrain.pth"))
vits14_reg4 = randomize(DinoVisionTransformer(384, 12, 6, num_register_tokens=4, interpolate_antialias=True, interpolate_offset=0.0), seed=12).eval()
torch.save(vits14_reg4.state_dict(), os.path.join(out, "dinov2_vits14_reg4_pretrain.pth"))

# facebook/dinov2-small and microsoft/rad-dino as transformers saves them.
dinov2_small = randomize(Dinov2Model(384, 12, 6), seed=13).eval()
rad_dino = randomize(Dinov2Model(768, 12, 12), seed=14).eval()
for folder, model in (("dinov2-small", dinov2_small), ("rad-dino", rad_dino)):
    os.makedirs(os.path.join(out, folder), exist_ok=True)
    save_safetensors(os.path.join(out, folder, "model.safetensors"), model.state_dict())

# DINOv2's evaluation transform (make_classification_eval_transform: 256 bicubic, crop 224, ImageNet), and
# RAD-DINO's (518 bicubic, crop 518, its mean and std).
dinov2_224 = evaluation_transform(256, 224)
rad_dino_transform = lambda size: evaluation_transform(size, size, mean=RAD_DINO_MEAN, std=RAD_DINO_STD)  # noqa: E731
write_reference(out, {
    "vits14": embed_images(images, dinov2_224, linear_input(vits14, 1, True)),
    "vits14-last-4": embed_images(images, dinov2_224, linear_input(vits14, 4, True)),
    "vits14-518": embed_images(images, evaluation_transform(518, 518), linear_input(vits14, 1, True)),
    "vits14-reg4": embed_images(images, dinov2_224, linear_input(vits14_reg4, 1, True)),
    "vits14-hf": embed_images(images, dinov2_224, class_token_and_patch_mean(dinov2_small)),
    "rad-dino": embed_images(images, rad_dino_transform(518), class_token(rad_dino)),
    "rad-dino-224": embed_images(images, rad_dino_transform(224), class_token(rad_dino)),
})
print("wrote", out)
