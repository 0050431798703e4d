"""The parts of timm's VisionTransformer that MAE's models_vit.py (timm 0.3) and MoCo v3's vits.py (timm 0.4.9)
build on: Attention, Mlp and the pre-norm Block. In evaluation (no dropout, drop path the identity) both
versions compute the same, under the same attribute names, so state_dict() gives the published keys.
Written from timm/models/vision_transformer.py and timm/models/layers/mlp.py of those versions.
"""
from torch import nn


class Attention(nn.Module):
    """Fused qkv (with bias unless qkv_bias=False), scale head_dim ** -0.5, softmax, output projection."""

    def __init__(self, dim, num_heads, qkv_bias=True):
        super().__init__()
        self.num_heads = num_heads
        self.scale = (dim // num_heads) ** -0.5
        self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        batch, tokens, channels = x.shape
        qkv = self.qkv(x).reshape(batch, tokens, 3, self.num_heads, channels // self.num_heads).permute(2, 0, 3, 1, 4)
        query, key, value = qkv[0], qkv[1], qkv[2]
        weights = ((query @ key.transpose(-2, -1)) * self.scale).softmax(dim=-1)
        return self.proj((weights @ value).transpose(1, 2).reshape(batch, tokens, channels))


class Mlp(nn.Module):
    """fc1, exact GELU, fc2."""

    def __init__(self, in_features, hidden_features):
        super().__init__()
        self.fc1 = nn.Linear(in_features, hidden_features)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden_features, in_features)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class Block(nn.Module):
    """Pre-norm: x + attn(norm1(x)), then x + mlp(norm2(x))."""

    def __init__(self, dim, num_heads, mlp_ratio, norm_layer, qkv_bias=True):
        super().__init__()
        self.norm1 = norm_layer(dim)
        self.attn = Attention(dim, num_heads, qkv_bias)
        self.norm2 = norm_layer(dim)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))
