#!/usr/bin/python3
"""PyTorch reference values for the training checks of @medssl/runtime-tfjs.

One train-mode forward and the gradients of a fixed linear loss, for torchvision's resnet50 and a small
ViT in DINO's layout (the modules of ../../../runtime-onnx/src/__fixtures__/make_fixtures.py, filled with
the same closed-form weights, which formula-weights.ts there reproduces bit for bit):

- resnet50 at 64x64, batch 2: BatchNorm in train mode (batch statistics; running estimates updated with
  momentum 0.1 and the unbiased variance), nothing frozen; the same with the stem, layer1 and layer2
  frozen (eval mode, no gradient); and all of it in eval mode (running statistics) with gradients.
- ViT (patch 16, width 192, depth 4, 3 heads, trained for 64x64) at 80x80, so the position table is
  resampled bicubically (DINO's interpolate_pos_encoding) and its gradient flows through the resampling;
  nothing frozen, and the patch embedding with blocks 0 and 1 frozen. Embedding: DINO's class tokens of
  the last 4 blocks after the final norm.

The loss is sum(embedding * R), R a formula tensor. Every reference is computed in float64; PyTorch's own
float32 run's distance from it is recorded in training.json (the tests allow 4x that, at least 1e-4).

ReLU networks are piecewise linear: where a pre-activation lies within float32 rounding of zero, two
correct float32 implementations may take different sides of the kink, and the gradients of everything
before it then differ by percents. With these weights that happens in ResNet-50 (PyTorch's float32 run on
two threads was 8 % off its float64 gradients, on one thread 1e-6), so the ResNet's batch-norm biases are
raised by BATCH_NORM_BIAS_OFFSET: few pre-activations lie near zero. Max pooling has the same kind of
kink: a window whose two largest values are within rounding of each other sends its gradient to either
(the stem's batch norm then sees the same values, its convolution different patches). The images are
the first of a seeded series whose stem windows all separate their two largest values by 1e-5 relative
and whose train-mode pre-activations all lie 1e-5 of their layer's scale away from zero (KINK_MARGIN).
Then PyTorch's float32 stays within 5e-5 of float64 in every case.

The ResNet's operations are also checked one by one (`ops/`): units of convolution, batch norm (train and
eval mode), residual and ReLU in every geometry ResNet-50 uses (odd sizes too), and max pooling on
values of both signs. Gradients of large tensors are stored at every `step`-th element (step in
training.json) to keep the fixture small. PyTorch runs on one thread.

Run with Debian's interpreter (python3-torch 1.13, python3-torchvision 0.14, python3-numpy):

    /usr/bin/python3 packages/runtime-tfjs/src/__fixtures__/make_fixtures.py
"""

import importlib.util
import json
import os
import re
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
# The formula, DINO's ViT and torchvision's resnet50, as runtime-onnx's parity fixtures define them.
_ONNX_FIXTURES = os.path.join(HERE, "..", "..", "..", "runtime-onnx", "src", "__fixtures__", "make_fixtures.py")
_spec = importlib.util.spec_from_file_location("runtime_onnx_fixtures", _ONNX_FIXTURES)
onnx_fixtures = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(onnx_fixtures)

IMAGES = 2
RESNET_SIZE = 64
VIT = dict(img_size=64, patch_size=16, embed_dim=192, depth=4, num_heads=3, mlp_ratio=4.0)
VIT_SIZE = 80
MOST_STORED = 2048
BATCH_NORM_BIAS_OFFSET = 3.0
KINK_MARGIN = 1e-5

RESNET_GRADIENTS = [
    "conv1.weight", "bn1.weight", "layer1.0.conv1.weight", "layer1.0.conv2.weight", "layer1.0.downsample.0.weight",
    "layer2.0.conv2.weight", "layer2.0.downsample.1.weight", "layer3.0.conv1.weight", "layer3.0.downsample.0.weight",
    "layer3.5.bn3.weight", "layer4.0.conv2.weight", "layer4.2.conv3.weight", "layer4.2.bn3.bias",
]
# In train mode a batch-norm bias before a mostly-active ReLU, a convolution and another train-mode batch
# norm has a gradient of almost zero (the next norm removes a constant shift): only float32 noise to
# compare. Eval mode checks the stem's bias too.
RESNET_EVAL_GRADIENTS = [*RESNET_GRADIENTS, "bn1.bias"]
RESNET_FROZEN_GRADIENTS = [name for name in RESNET_GRADIENTS if name.startswith(("layer3", "layer4"))]
RESNET_RUNNING = ["bn1", "layer1.0.bn2", "layer2.0.downsample.1", "layer4.2.bn3"]
VIT_GRADIENTS = [
    "cls_token", "pos_embed", "patch_embed.proj.weight", "patch_embed.proj.bias", "blocks.0.norm1.weight", "blocks.0.attn.qkv.weight",
    "blocks.0.attn.qkv.bias", "blocks.1.attn.proj.weight", "blocks.2.mlp.fc1.weight", "blocks.2.norm2.bias", "blocks.3.mlp.fc2.weight",
    "blocks.3.mlp.fc2.bias", "norm.weight", "norm.bias",
]
VIT_FROZEN_GRADIENTS = [name for name in VIT_GRADIENTS if name.startswith(("blocks.2", "blocks.3", "norm"))]


def step_of(count):
    return max(1, -(-count // MOST_STORED))


def resnet(dtype, frozen_stages):
    model = onnx_fixtures.resnet50_features()
    onnx_fixtures.fill_with_formula(model)
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if re.search(r"(bn\d|downsample\.1)\.bias$", name):
                parameter.add_(BATCH_NORM_BIAS_OFFSET)
    model = model.to(dtype).train()
    stages = [[model.conv1, model.bn1], [model.layer1], [model.layer2], [model.layer3], [model.layer4]]
    for module in [module for stage in stages[: frozen_stages + 1] for module in stage]:
        module.eval()
        for parameter in module.parameters():
            parameter.requires_grad_(False)
    return model


def vit(dtype, frozen_stages):
    model = onnx_fixtures.VisionTransformer(**VIT)
    onnx_fixtures.fill_with_formula(model)
    model = model.to(dtype)
    if frozen_stages >= 0:
        frozen = [model.patch_embed, *model.blocks[:frozen_stages]]
        for module in frozen:
            for parameter in module.parameters():
                parameter.requires_grad_(False)
        model.cls_token.requires_grad_(False)
        model.pos_embed.requires_grad_(False)
    return model


def kink_margins(images):
    """Smallest relative gap between the two largest values of a stem max-pool window (eval and train
    mode), and smallest |pre-activation| relative to its layer's largest in train mode, in float64."""
    margins = {}
    for mode in ("eval", "train"):
        model = resnet(torch.float64, -1)
        if mode == "eval":
            model.eval()
        relu_margin = [1.0]

        def before_relu(module, inputs):
            z = inputs[0]
            relu_margin[0] = min(relu_margin[0], (z.abs().min() / z.abs().max()).item())

        hooks = [module.register_forward_pre_hook(before_relu) for module in model.modules() if isinstance(module, torch.nn.ReLU)]
        x = torch.from_numpy(images).double()
        with torch.no_grad():
            stem = torch.relu(model.bn1(model.conv1(x)))
            for hook in hooks:
                hook.remove()
            if mode == "train":
                hooks = [module.register_forward_pre_hook(before_relu) for module in model.modules() if isinstance(module, torch.nn.ReLU)]
                model(x)
        padded = torch.nn.functional.pad(stem, (1, 1, 1, 1), value=-float("inf"))
        windows = padded.unfold(2, 3, 2).unfold(3, 3, 2).flatten(-2)
        top = windows.topk(2, dim=-1).values
        positive = top[..., 0] > 0
        margins[f"{mode} max-pool gap"] = ((top[..., 0] - top[..., 1]) / top[..., 0])[positive].min().item()
        if mode == "train":
            margins["train pre-activation"] = relu_margin[0]
    return margins


def resnet_images_with_margins():
    """The first images of the series `training-images:<size>:<k>` with every kink margin at least KINK_MARGIN."""
    for k in range(100):
        name = f"training-images:{RESNET_SIZE}:{k}"
        images = onnx_fixtures.formula_values(name, IMAGES * 3 * RESNET_SIZE * RESNET_SIZE, 0.0, 2.0).reshape(IMAGES, 3, RESNET_SIZE, RESNET_SIZE)
        margins = kink_margins(images)
        if min(margins.values()) >= KINK_MARGIN:
            print(f"images {name}: margins " + ", ".join(f"{key} {value:.1e}" for key, value in margins.items()))
            return name, images, margins
    raise RuntimeError("no images in the series clear the kink margins")


def run(build, forward, images, projection, dtype, gradient_names, running_names=(), train=True):
    model = build(dtype)
    if not train:
        model.eval()
    embedding = forward(model, torch.from_numpy(images).to(dtype))
    loss = (embedding * torch.from_numpy(projection).to(dtype)).sum()
    loss.backward()
    parameters = dict(model.named_parameters())
    buffers = dict(model.named_buffers())
    result = {"embedding": embedding.detach().double().numpy()}
    for name in gradient_names:
        result[f"gradient:{name}"] = parameters[name].grad.double().numpy()
    for name in running_names:
        for part in ("running_mean", "running_var"):
            result[f"{part}:{name}"] = buffers[f"{name}.{part}"].double().numpy()
    return result


def operation_cases(arrays, description):
    """ResNet units (convolution, batch norm, optional residual and ReLU) and max pooling on formula
    inputs: outputs, running estimates and every gradient under sum(output * R)."""
    formula = onnx_fixtures.formula_values

    def store(name, values):
        arrays[f"ops/{name}"] = values.detach().double().numpy().reshape(-1).astype(np.float32)

    def tensor(name, shape, offset, amplitude):
        return torch.from_numpy(formula(name, int(np.prod(shape)), offset, amplitude).reshape(shape)).double()

    description["units"] = []
    # (kernel, stride, padding, input size, input channels, output channels, batch-norm mode, residual, ReLU):
    # the stem, 3x3 convolutions with and without stride (odd and even sizes), a bottleneck's last 1x1
    # convolution (residual, ReLU), and the 1x1 shortcut projections (no ReLU).
    for kernel, stride, padding, size, inputs, outputs, mode, residual, relu in [
        (7, 2, 3, 9, 3, 4, "train", False, True),
        (3, 1, 1, 5, 4, 3, "train", False, True),
        (3, 2, 1, 7, 4, 5, "train", False, True),
        (3, 2, 1, 6, 3, 4, "eval", True, True),
        (1, 1, 0, 5, 6, 4, "train", True, True),
        (1, 1, 0, 5, 6, 4, "eval", False, False),
        (1, 2, 0, 7, 4, 6, "train", False, False),
    ]:
        tag = f"unit_k{kernel}_s{stride}_p{padding}_{size}_{mode}{'_residual' if residual else ''}{'_relu' if relu else ''}"
        x = tensor(f"{tag}:x", (2, inputs, size, size), 0.0, 2.0).requires_grad_()
        weight = tensor(f"{tag}:weight", (outputs, inputs, kernel, kernel), 0.0, 1.0).requires_grad_()
        norm = torch.nn.BatchNorm2d(outputs).double().train(mode == "train")
        with torch.no_grad():
            norm.weight.copy_(tensor(f"{tag}:bn_weight", (outputs,), 1.0, 0.25))
            norm.bias.copy_(tensor(f"{tag}:bn_bias", (outputs,), 0.0, 0.5))
            norm.running_mean.copy_(tensor(f"{tag}:running_mean", (outputs,), 0.0, 0.125))
            norm.running_var.copy_(tensor(f"{tag}:running_var", (outputs,), 1.0, 0.5))
        y = norm(torch.nn.functional.conv2d(x, weight, stride=stride, padding=padding))
        shortcut = tensor(f"{tag}:residual", tuple(y.shape), 0.0, 1.0).requires_grad_() if residual else None
        if residual:
            y = y + shortcut
        if relu:
            y = torch.relu(y)
        (y * tensor(f"{tag}:projection", tuple(y.shape), 0.0, 1.0)).sum().backward()
        store(f"{tag}/output", y)
        store(f"{tag}/x_gradient", x.grad)
        store(f"{tag}/weight_gradient", weight.grad)
        store(f"{tag}/bn_weight_gradient", norm.weight.grad)
        store(f"{tag}/bn_bias_gradient", norm.bias.grad)
        store(f"{tag}/running_mean", norm.running_mean)
        store(f"{tag}/running_var", norm.running_var)
        if residual:
            store(f"{tag}/residual_gradient", shortcut.grad)
        description["units"].append({"tag": tag, "kernel": kernel, "stride": stride, "padding": padding, "size": size, "inputs": inputs, "outputs": outputs,
                                     "mode": mode, "residual": residual, "relu": relu, "outputShape": list(y.shape)})

    # Max pooling as ResNet's stem does it, on an odd size, with negative values.
    x = tensor("maxpool:x", (2, 3, 9, 9), 0.0, 2.0).requires_grad_()
    y = torch.nn.functional.max_pool2d(x, 3, 2, 1)
    (y * tensor("maxpool:projection", tuple(y.shape), 0.0, 1.0)).sum().backward()
    store("maxpool/output", y)
    store("maxpool/x_gradient", x.grad)
    description["maxpool"] = {"shape": [2, 3, 9, 9], "outputShape": list(y.shape)}


def relative_error(actual, reference):
    scale = np.max(np.abs(reference))
    return float(np.max(np.abs(actual - reference)) / scale) if scale > 0 else float(np.max(np.abs(actual)))


def main():
    torch.set_num_threads(1)
    arrays = {}
    cases = {}
    operations = {}
    operation_cases(arrays, operations)

    def case(name, build, forward, images, projection, gradient_names, running_names=(), train=True):
        reference = run(build, forward, images, projection, torch.float64, gradient_names, running_names, train)
        single = run(build, forward, images, projection, torch.float32, gradient_names, running_names, train)
        description = {"gradients": {}, "running": list(running_names), "train": train, "float32VersusFloat64RelativeError": {}}
        for key, value in reference.items():
            flat = value.reshape(-1)
            step = step_of(flat.size) if key.startswith("gradient:") else 1
            arrays[f"{name}/{key}"] = flat[::step].astype(np.float32)
            description["float32VersusFloat64RelativeError"][key] = relative_error(single[key].reshape(-1)[::step], flat[::step])
            if key.startswith("gradient:"):
                description["gradients"][key[len("gradient:"):]] = {"shape": list(value.shape), "step": step}
        cases[name] = description
        worst = max(description["float32VersusFloat64RelativeError"].values())
        print(f"{name}: {len(reference)} arrays, PyTorch float32 vs float64 at most {worst:.2e}")

    resnet_image_name, resnet_images, resnet_margins = resnet_images_with_margins()
    resnet_projection = onnx_fixtures.formula_values("loss:resnet50", IMAGES * 2048, 0.0, 1.0).reshape(IMAGES, 2048)
    pooled = lambda model, x: model(x)
    case("resnet50_train", lambda dtype: resnet(dtype, -1), pooled, resnet_images, resnet_projection, RESNET_GRADIENTS, RESNET_RUNNING)
    case("resnet50_frozen2", lambda dtype: resnet(dtype, 2), pooled, resnet_images, resnet_projection, RESNET_FROZEN_GRADIENTS, RESNET_RUNNING)
    case("resnet50_eval", lambda dtype: resnet(dtype, -1), pooled, resnet_images, resnet_projection, RESNET_EVAL_GRADIENTS, train=False)

    vit_images = onnx_fixtures.formula_images(IMAGES, VIT_SIZE)
    vit_projection = onnx_fixtures.formula_values("loss:vit", IMAGES * 4 * VIT["embed_dim"], 0.0, 1.0).reshape(IMAGES, 4 * VIT["embed_dim"])
    last_4 = onnx_fixtures.dino_linear_features
    case("vit_train", lambda dtype: vit(dtype, -1), last_4, vit_images, vit_projection, VIT_GRADIENTS)
    case("vit_frozen2", lambda dtype: vit(dtype, 2), last_4, vit_images, vit_projection, VIT_FROZEN_GRADIENTS)

    np.savez_compressed(os.path.join(HERE, "training.npz"), **arrays)
    description = {
        "formulaVersion": onnx_fixtures.FORMULA_VERSION,
        "images": IMAGES,
        "resnet": {"size": RESNET_SIZE, "images": resnet_image_name, "kinkMargins": resnet_margins, "projection": "loss:resnet50", "batchNormBiasOffset": BATCH_NORM_BIAS_OFFSET},
        "vit": {"architecture": {"patchSize": VIT["patch_size"], "embedDim": VIT["embed_dim"], "depth": VIT["depth"], "heads": VIT["num_heads"], "mlpRatio": VIT["mlp_ratio"], "imageSize": VIT["img_size"]}, "size": VIT_SIZE, "projection": "loss:vit"},
        "cases": cases,
        "operations": operations,
        "torch": torch.__version__,
        "numpy": np.__version__,
    }
    with open(os.path.join(HERE, "training.json"), "w") as file:
        json.dump(description, file, indent=1, sort_keys=True)
        file.write("\n")
    print(f"wrote training.npz ({os.path.getsize(os.path.join(HERE, 'training.npz'))} bytes) and training.json")


if __name__ == "__main__":
    sys.exit(main())
