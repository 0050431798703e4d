#!/usr/bin/python3
"""Writes the reference outputs that the preprocessing tests compare against.

Run with Debian's interpreter, which has the pinned versions (Pillow 9.4, numpy 1.24, torch 1.13,
torchvision 0.14):

    /usr/bin/python3 packages/core/src/preprocess/__fixtures__/make_fixtures.py

Writes, beside this script, `manifest.json` (every case, its sizes and the file of each array) and one
little-endian raw file per array (`.u8`, `.u16`, `.f32`). Inputs are seeded random images and smooth
gradients with hard edges, stored as they are, except the two large pipeline inputs, which come from
`synthetic_pixel` (re-implemented in the test) so the fixtures stay small. Large pipeline outputs are
stored at every 23rd value of the flattened tensor, plus two sums over all values.
"""

import json
import sys
from pathlib import Path

import numpy as np
import PIL
import torch
import torchvision
from PIL import Image
from torchvision import transforms

HERE = Path(__file__).resolve().parent
IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]
PIPELINE_SAMPLE_STRIDE = 23
PIL_FILTERS = {'bilinear': Image.Resampling.BILINEAR, 'bicubic': Image.Resampling.BICUBIC}
TORCH_FILTERS = {
    'bilinear': transforms.InterpolationMode.BILINEAR,
    'bicubic': transforms.InterpolationMode.BICUBIC,
}
MODES_BY_CHANNELS = {1: 'L', 3: 'RGB', 4: 'RGBA'}

written_files = set()


def write_array(name, array):
    """Writes `array` as raw little-endian values and returns its manifest entry."""
    suffix = {np.dtype(np.uint8): 'u8', np.dtype(np.uint16): 'u16', np.dtype(np.float32): 'f32'}[array.dtype]
    file_name = f'{name}.{suffix}'
    array.astype(array.dtype.newbyteorder('<'), copy=False).tofile(HERE / file_name)
    written_files.add(file_name)
    return file_name


def synthetic_pixel(x, y, channel):
    """Ramps that wrap (hard edges) plus a 16-pixel checkerboard; integer-only, so TypeScript agrees."""
    checker = ((x >> 4) + (y >> 4)) & 1
    return (x * (3 + channel) + y * (5 + 2 * channel) + ((x * y) >> 3) + checker * 96) & 255


def synthetic_image(width, height):
    ys, xs = np.mgrid[0:height, 0:width]
    planes = [synthetic_pixel(xs, ys, channel) for channel in range(3)]
    return np.stack(planes, axis=-1).astype(np.uint8)


def noise_image(seed, width, height, channels, dtype=np.uint8):
    rng = np.random.default_rng(seed)
    high = np.iinfo(dtype).max + 1
    shape = (height, width) if channels == 1 else (height, width, channels)
    return rng.integers(0, high, size=shape, dtype=np.int64).astype(dtype)


def gradient_image(width, height, channels, maximum):
    """Smooth ramps with a saturated square and a black bar: bicubic overshoots there and must clip."""
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float64)
    planes = []
    for channel in range(channels):
        ramp = (xs / max(width - 1, 1) * (1 - channel * 0.3) + ys / max(height - 1, 1) * (0.2 + channel * 0.3)) / 1.5
        plane = np.round(np.clip(ramp, 0, 1) * maximum)
        plane[height // 4 : height // 2, width // 4 : width // 2] = maximum
        plane[:, (3 * width) // 4 : (3 * width) // 4 + 2] = 0
        planes.append(plane)
    stacked = planes[0] if channels == 1 else np.stack(planes, axis=-1)
    return stacked.astype(np.uint16 if maximum > 255 else np.uint8)


def image_entry(name, array):
    """Writes an input image; the 16-bit pipelines reuse the resize inputs' names and files."""
    height, width = array.shape[:2]
    channels = 1 if array.ndim == 2 else array.shape[2]
    return {'file': write_array(name, array), 'width': width, 'height': height, 'channels': channels}


def pillow_image(array):
    channels = 1 if array.ndim == 2 else array.shape[2]
    return Image.fromarray(array, MODES_BY_CHANNELS[channels])


def float_resize(array, width, height, interpolation):
    """Pillow's 'F' (float32) mode, one band at a time: the reference for the 16-bit path."""
    bands = [array] if array.ndim == 2 else [array[..., channel] for channel in range(array.shape[2])]
    resized = [
        np.asarray(Image.fromarray(band.astype(np.float32), 'F').resize((width, height), PIL_FILTERS[interpolation]))
        for band in bands
    ]
    return resized[0] if array.ndim == 2 else np.stack(resized, axis=-1)


def resize_cases():
    inputs = {
        'rgb-noise-37x29': noise_image(1, 37, 29, 3),
        'rgb-gradient-64x48': gradient_image(64, 48, 3, 255),
        'grey-noise-31x23': noise_image(2, 31, 23, 1),
        'rgba-noise-23x17': noise_image(3, 23, 17, 4),
        'rgb-noise-1x1': noise_image(4, 1, 1, 3),
        'grey-noise-2x3': noise_image(5, 2, 3, 1),
        'rgb-noise-5x4': noise_image(6, 5, 4, 3),
    }
    # Alpha at both special values (0 and 255) as well as in between: they unpremultiply differently.
    inputs['rgba-noise-23x17'][2, :, 3] = 0
    inputs['rgba-noise-23x17'][:, 5, 3] = 255
    targets = {
        'rgb-noise-37x29': [(16, 11), (59, 47), (37, 13), (20, 29), (37, 29)],
        'rgb-gradient-64x48': [(24, 31), (71, 53), (5, 3), (63, 47)],
        'grey-noise-31x23': [(13, 9), (47, 50)],
        'rgba-noise-23x17': [(11, 8), (40, 30), (23, 9)],
        'rgb-noise-1x1': [(3, 2)],
        'grey-noise-2x3': [(1, 1)],
        'rgb-noise-5x4': [(7, 9)],
    }
    cases = []
    for input_name, array in inputs.items():
        source = image_entry(f'input-{input_name}', array)
        for width, height in targets[input_name]:
            for interpolation in ('bilinear', 'bicubic'):
                resized = np.asarray(pillow_image(array).resize((width, height), PIL_FILTERS[interpolation]))
                name = f'{input_name}-to-{width}x{height}-{interpolation}'
                cases.append({
                    'name': name,
                    'input': source,
                    'width': width,
                    'height': height,
                    'interpolation': interpolation,
                    'expected': write_array(f'resize-{name}', np.ascontiguousarray(resized)),
                })
    return cases


def float_resize_cases():
    inputs = {
        'grey16-noise-29x21': noise_image(7, 29, 21, 1, np.uint16),
        'rgb16-gradient-40x30': gradient_image(40, 30, 3, 65535),
        'rgb-gradient-64x48': gradient_image(64, 48, 3, 255),
    }
    targets = {
        'grey16-noise-29x21': [(13, 10), (50, 37)],
        'rgb16-gradient-40x30': [(17, 23), (40, 11)],
        'rgb-gradient-64x48': [(13, 9)],
    }
    cases = []
    for input_name, array in inputs.items():
        source = image_entry(f'input-{input_name}', array)
        for width, height in targets[input_name]:
            for interpolation in ('bilinear', 'bicubic'):
                resized = float_resize(array, width, height, interpolation).astype(np.float32)
                name = f'{input_name}-to-{width}x{height}-{interpolation}'
                cases.append({
                    'name': name,
                    'input': source,
                    'width': width,
                    'height': height,
                    'interpolation': interpolation,
                    'expected': write_array(f'float-resize-{name}', np.ascontiguousarray(resized)),
                })
    return cases


def torchvision_pipeline(preprocessing):
    steps = []
    resize = preprocessing.get('resize')
    if resize is not None:
        size = resize['size']
        steps.append(transforms.Resize(size if isinstance(size, int) else tuple(size), interpolation=TORCH_FILTERS[resize['interpolation']]))
    crop = preprocessing.get('centerCrop')
    if crop is not None:
        steps.append(transforms.CenterCrop(crop if isinstance(crop, int) else tuple(crop)))
    steps.append(transforms.ToTensor())
    normalize = preprocessing.get('normalize')
    if normalize is not None:
        steps.append(transforms.Normalize(normalize['mean'], normalize['std']))
    return transforms.Compose(steps)


def expected_tensor_entry(name, tensor, sampled):
    flat = np.ascontiguousarray(tensor, dtype=np.float32).reshape(-1)
    indices = np.arange(flat.size, dtype=np.float64)
    entry = {
        'shape': list(tensor.shape),
        # float64 sums over every value, to catch a difference between the sampled positions.
        'sum': float(flat.astype(np.float64).sum()),
        'weightedSum': float((flat.astype(np.float64) * (indices % 101 + 1)).sum()),
    }
    if sampled:
        entry['sampleStride'] = PIPELINE_SAMPLE_STRIDE
        entry['file'] = write_array(f'pipeline-{name}', flat[::PIPELINE_SAMPLE_STRIDE].copy())
    else:
        entry['sampleStride'] = 1
        entry['file'] = write_array(f'pipeline-{name}', flat)
    return entry


def pipeline_cases():
    imagenet = {'mean': IMAGENET_MEAN, 'std': IMAGENET_STD}
    cases = []

    # Large inputs come from synthetic_pixel; the test regenerates them.
    for name, width, height, preprocessing in [
        (
            'imagenet-bilinear-300x217',
            300,
            217,
            {'resize': {'size': 256, 'interpolation': 'bilinear'}, 'centerCrop': 224, 'normalize': imagenet, 'channels': 3},
        ),
        (
            'simclr-bicubic-217x300',
            217,
            300,
            {'resize': {'size': 256, 'interpolation': 'bicubic'}, 'centerCrop': 224, 'channels': 3},
        ),
    ]:
        array = synthetic_image(width, height)
        tensor = torchvision_pipeline(preprocessing)(Image.fromarray(array, 'RGB')).numpy()
        cases.append({
            'name': name,
            'input': {'synthetic': True, 'width': width, 'height': height, 'channels': 3},
            'preprocessing': preprocessing,
            'expected': expected_tensor_entry(name, tensor, sampled=True),
        })

    # Small stored inputs: grey and RGBA go through convert('RGB') first, as medssl replicates grey and
    # drops alpha before anything else.
    for name, array, preprocessing in [
        (
            'grey-imagenet-45x38',
            noise_image(8, 45, 38, 1),
            {'resize': {'size': 32, 'interpolation': 'bilinear'}, 'centerCrop': 28, 'normalize': imagenet, 'channels': 3},
        ),
        (
            'rgba-exact-bicubic-41x53',
            noise_image(9, 41, 53, 4),
            {'resize': {'size': [20, 30], 'interpolation': 'bicubic'}, 'centerCrop': [17, 25], 'normalize': imagenet, 'channels': 3},
        ),
        (
            # Offsets 4.5 and 1.5 round half to even: left 4, top 2.
            'rgb-crop-only-33x27',
            gradient_image(33, 27, 3, 255),
            {'centerCrop': 24, 'channels': 3},
        ),
        (
            'rgb-noop-resize-24x24',
            noise_image(10, 24, 24, 3),
            {'resize': {'size': 24, 'interpolation': 'bicubic'}, 'normalize': imagenet, 'channels': 3},
        ),
    ]:
        tensor = torchvision_pipeline(preprocessing)(pillow_image(array).convert('RGB')).numpy()
        cases.append({
            'name': name,
            'input': image_entry(f'input-pipeline-{name}', array),
            'preprocessing': preprocessing,
            'expected': expected_tensor_entry(name, tensor, sampled=False),
        })
    return cases


def torchvision_resized_size(height, width, size):
    """torchvision's rule: an int is the new shorter side, the longer one truncated; a pair is exact."""
    if isinstance(size, list):
        return size
    short, long = (width, height) if width <= height else (height, width)
    new_short, new_long = size, int(size * long / short)
    return [new_long, new_short] if width <= height else [new_short, new_long]


def float_pipeline_cases():
    """16-bit pipelines: Pillow 'F' resize per band, clip to [0, 65535], then float32 scaling as ToTensor."""
    imagenet = {'mean': IMAGENET_MEAN, 'std': IMAGENET_STD}
    cases = []
    for name, input_name, array, preprocessing in [
        (
            'rgb16-imagenet-bicubic-40x30',
            'rgb16-gradient-40x30',
            gradient_image(40, 30, 3, 65535),
            {'resize': {'size': 20, 'interpolation': 'bicubic'}, 'centerCrop': 18, 'normalize': imagenet, 'channels': 3},
        ),
        (
            'grey16-bilinear-29x21',
            'grey16-noise-29x21',
            noise_image(7, 29, 21, 1, np.uint16),
            {'resize': {'size': [15, 12], 'interpolation': 'bilinear'}, 'centerCrop': [14, 11], 'channels': 3},
        ),
    ]:
        resize = preprocessing['resize']
        height, width = torchvision_resized_size(array.shape[0], array.shape[1], resize['size'])
        resized = float_resize(array, width, height, resize['interpolation'])
        if resized.ndim == 2:
            resized = np.stack([resized] * 3, axis=-1)
        crop_height, crop_width = preprocessing['centerCrop'] if isinstance(preprocessing['centerCrop'], list) else [preprocessing['centerCrop']] * 2
        top = int(round((height - crop_height) / 2.0))
        left = int(round((width - crop_width) / 2.0))
        cropped = resized[top : top + crop_height, left : left + crop_width]
        scaled = np.clip(cropped, 0, 65535).astype(np.float32) / np.float32(65535)
        tensor = np.ascontiguousarray(scaled.transpose(2, 0, 1))
        normalize = preprocessing.get('normalize')
        if normalize is not None:
            mean = np.asarray(normalize['mean'], dtype=np.float32).reshape(3, 1, 1)
            std = np.asarray(normalize['std'], dtype=np.float32).reshape(3, 1, 1)
            tensor = ((tensor - mean) / std).astype(np.float32)
        cases.append({
            'name': name,
            'input': image_entry(f'input-{input_name}', array),
            'preprocessing': preprocessing,
            'expected': expected_tensor_entry(name, tensor, sampled=False),
        })
    return cases


def main():
    for stale in HERE.iterdir():
        if stale.suffix in ('.u8', '.u16', '.f32'):
            stale.unlink()
    manifest = {
        'generatedBy': 'make_fixtures.py',
        'versions': {
            'python': sys.version.split()[0],
            'numpy': np.__version__,
            'pillow': PIL.__version__,
            'torch': torch.__version__,
            'torchvision': torchvision.__version__,
        },
        'pipelineSampleStride': PIPELINE_SAMPLE_STRIDE,
        'resize': resize_cases(),
        'floatResize': float_resize_cases(),
        'pipelines': pipeline_cases(),
        'floatPipelines': float_pipeline_cases(),
    }
    (HERE / 'manifest.json').write_text(json.dumps(manifest, indent=1) + '\n')
    total = sum((HERE / name).stat().st_size for name in written_files) + (HERE / 'manifest.json').stat().st_size
    print(f'wrote {len(written_files)} arrays and manifest.json, {total / 1024:.1f} KiB in all')


if __name__ == '__main__':
    main()
