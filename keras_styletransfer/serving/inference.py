"""Stylise images of any size with a trained image-to-image generator.

`stylize(generator, images, style=..., strength=...)` pads each image to the generator's size
multiple (reflection, so borders stay natural), runs it in batches through one compiled function,
and crops back. Images larger than `max_tile_pixels` are cut into overlapping tiles whose seams
are blended with linear ramps, so memory stays bounded and no seam shows.
"""

from __future__ import annotations

import math
import os
import weakref

import numpy as np

from keras_styletransfer.errors import InputError
from keras_styletransfer.images import to_model_range
from keras_styletransfer.models.base import named_input
from keras_styletransfer.validation import check_int, check_strength, style_weights


def size_multiple(generator):
    """The multiple that the generator's input height and width must be (1 when unknown)."""
    value = getattr(generator, "size_multiple", None)
    return int(value) if value else 1


def is_style_generator(generator):
    """Whether the generator takes (image, style, strength) rather than an image alone."""
    return len(getattr(generator, "inputs", None) or []) == 3


def image_channels(generator):
    """The channel count of the generator's image input."""
    return int(named_input(generator, "image", 0).shape[-1])


def style_slots(generator):
    """The length of a multi-style generator's style weight input."""
    return int(named_input(generator, "style", 1).shape[-1])


def generator_kind(generator):
    """ "style" for G(image, style, strength), "noise" for G(z), else "image".

    Raises:
        InputError: a generator that takes other inputs than those.
    """
    inputs = list(getattr(generator, "inputs", None) or [])
    if is_style_generator(generator):
        return "style"
    if len(inputs) != 1:
        raise InputError(
            f"{generator.name!r} takes {len(inputs)} inputs; export handles image generators, "
            "multi-style generators {image, style, strength} and noise generators."
        )
    if len(inputs[0].shape) == 2:
        return "noise"
    if len(inputs[0].shape) == 4:
        return "image"
    raise InputError(
        f"{generator.name!r} takes input of shape {inputs[0].shape}; export handles "
        "(batch, H, W, C) images and (batch, latent_dim) noise."
    )


def minimum_side(generator):
    """The smallest multiple of the generator's `size_multiple` it can process.

    A ResNet generator's reflection padding of 1 in its bottleneck needs that bottleneck to be 2
    pixels, so a stride-4 ResNet takes 8x8 at least. Found by trying square zero images of 1, 2,
    ... 8 times the multiple; images smaller than this are padded up to it.
    """
    multiple = size_multiple(generator)
    channels = image_channels(generator)
    styled = generator_kind(generator) == "style"
    for factor in range(1, 9):
        side = factor * multiple
        images = np.zeros((1, side, side, channels), np.float32)
        inputs = images
        if styled:
            inputs = {
                "image": images,
                "style": np.eye(style_slots(generator), dtype=np.float32)[:1],
                "strength": np.ones((1, 1), np.float32),
            }
        try:
            generator(inputs, training=False)
        except Exception:  # any failure means "too small": try the next size
            continue
        return side
    return multiple


def pad_image(image, multiple, minimum=1):
    """An image `(H, W, C)` padded at the bottom and right to a multiple of `multiple` (and at
    least `minimum`, itself a multiple) on each side.

    Reflection keeps borders natural; images too small to reflect (a side of 1 pixel, or a pad
    as large as the side) are padded by edge replication. The exported serving graph pads the
    same way (`signatures.pad_to_multiple`).
    """
    height, width = image.shape[:2]
    pad_height = max(-(-height // multiple) * multiple, minimum) - height
    pad_width = max(-(-width // multiple) * multiple, minimum) - width
    reflect = height > 1 and width > 1 and pad_height < height and pad_width < width
    return np.pad(
        image, ((0, pad_height), (0, pad_width), (0, 0)), mode="reflect" if reflect else "edge"
    )


def as_model_image(image, index=0):
    """One image, (H, W) or (H, W, C), uint8 / uint16 or float in [-1, 1] -> float32 (H, W, C)."""
    array = np.asarray(image)
    if array.ndim == 2:
        array = array[..., np.newaxis]
    if array.ndim != 3:
        raise InputError(
            f"image {index} must be (H, W) or (H, W, C); received shape {array.shape}."
        )
    return to_model_range(array)


def blend_with_input(images, outputs, strength):
    """`images + strength * (outputs - images)`: a single-style generator's output at a style
    strength (0: the input back, 1: the generator's output), as the multi-style generator's
    own strength input does.

    Raises:
        InputError: a strength below 1 for a generator whose output is not the shape of its
            input (it cannot be mixed with it).
    """
    if strength == 1.0:
        return outputs
    if outputs.shape != images.shape:
        raise InputError(
            f"strength={strength!r}: this model's output {outputs.shape[1:]} is not the shape "
            f"of its input {images.shape[1:]}, so it cannot be mixed with it; leave strength at 1."
        )
    return images + np.float32(strength) * (outputs - images)


def _ramp(length, overlap):
    """Blending weights along one axis of a tile: rising over the overlap at both ends."""
    weights = np.ones(length, np.float32)
    if overlap > 0:
        rise = (np.arange(overlap, dtype=np.float32) + 0.5) / overlap
        weights[:overlap] = np.minimum(weights[:overlap], rise)
        weights[-overlap:] = np.minimum(weights[-overlap:], rise[::-1])
    return weights


def _tile_starts(length, tile, overlap):
    if length <= tile:
        return [0]
    step = tile - overlap
    starts = [*list(range(0, length - tile, step)), length - tile]
    return sorted(set(starts))


class Stylizer:
    """A compiled, reusable `stylize` for one generator (see `stylize` for the arguments)."""

    def __init__(self, generator, style_names=None, batch_size=4, max_tile_pixels=512 * 512):
        import tensorflow as tf

        from keras_styletransfer.models.loading import check_finite_weights

        self.generator = check_finite_weights(generator)
        self.multiple = size_multiple(generator)
        # Tiny images are padded up to what the architecture can process, as in serving.
        self.minimum = minimum_side(generator)
        self.styled = is_style_generator(generator)
        self.style_names = list(style_names) if style_names else None
        if self.styled and not self.style_names:
            self.style_names = [str(i) for i in range(style_slots(generator))]
        self.batch_size = check_int(batch_size, "batch_size", low=1, high=4096)
        tile = int(math.sqrt(max_tile_pixels)) // self.multiple * self.multiple
        if tile < self.multiple:
            raise InputError(f"max_tile_pixels={max_tile_pixels} is too small for this model.")
        self.tile = max(tile, self.minimum)
        self.overlap = max(self.multiple, self.tile // 8 // self.multiple * self.multiple)
        if self.overlap >= self.tile:
            self.overlap = 0
        if self.styled:
            self._run = tf.function(
                lambda images, style, strength: generator(
                    {"image": images, "style": style, "strength": strength}, training=False
                ),
                reduce_retracing=True,
            )
        else:
            self._run = tf.function(
                lambda images: generator(images, training=False), reduce_retracing=True
            )

    def _apply(self, batch, style, strength):
        if not self.styled:
            return blend_with_input(batch, np.asarray(self._run(batch)), strength)
        count = len(batch)
        return np.asarray(
            self._run(
                batch,
                np.repeat(style[np.newaxis], count, axis=0),
                np.full((count, 1), strength, np.float32),
            )
        )

    def _stylize_large(self, image, style, strength):
        height, width = image.shape[:2]
        padded = pad_image(image, self.multiple, self.minimum)
        # A side shorter than a tile (a long, thin image) is one tile of its own length.
        tile_height, tile_width = min(self.tile, padded.shape[0]), min(self.tile, padded.shape[1])
        out = np.zeros(padded.shape, np.float32)
        total = np.zeros((*padded.shape[:2], 1), np.float32)
        boxes = [
            (top, left)
            for top in _tile_starts(padded.shape[0], tile_height, self.overlap)
            for left in _tile_starts(padded.shape[1], tile_width, self.overlap)
        ]
        weight = np.outer(_ramp(tile_height, self.overlap), _ramp(tile_width, self.overlap))
        weight = weight[..., np.newaxis]
        for start in range(0, len(boxes), self.batch_size):
            chunk = boxes[start : start + self.batch_size]
            tiles = np.stack(
                [padded[t : t + tile_height, left : left + tile_width] for t, left in chunk]
            )
            results = self._apply(tiles, style, strength)
            for (top, left), result in zip(chunk, results, strict=True):
                out[top : top + tile_height, left : left + tile_width] += result * weight
                total[top : top + tile_height, left : left + tile_width] += weight
        return (out / np.maximum(total, 1e-8))[:height, :width]

    def _check_memory(self, images):
        """Refuse, before any work, images whose float32 copies (input, padded, output and
        blending weights, about 4 per pixel and channel) would not fit in this machine's memory."""
        from keras_styletransfer.validation import check_fits_in_memory

        largest = max(images, key=lambda image: image.size)
        check_fits_in_memory(
            16 * largest.size,
            f"stylising an image of {largest.shape[1]}x{largest.shape[0]} pixels",
            "downscale it first",
        )

    def __call__(self, images, style=None, strength=1.0, verbose=0):
        from keras.utils import Progbar

        if isinstance(images, np.ndarray) and images.ndim in (2, 3):
            images = [images]
        images = [as_model_image(image, index) for index, image in enumerate(images)]
        self._check_memory(images)
        channels = image_channels(self.generator)
        for index, image in enumerate(images):
            if image.shape[-1] != channels:
                raise InputError(
                    f"image {index} has {image.shape[-1]} channels but the model takes "
                    f"{channels}; convert it (e.g. PIL's .convert('RGB'))."
                )
        weights = None
        if self.styled:
            weights = style_weights(style, self.style_names)
            strength = check_strength(strength)
        elif style is not None:
            raise InputError("this model makes one style only; leave style= unset.")
        else:
            strength = check_strength(strength)
        progress = Progbar(len(images), unit_name="image") if verbose else None
        results = [None] * len(images)
        # Images of one size go through together; large ones are tiled.
        groups = {}
        for index, image in enumerate(images):
            groups.setdefault(image.shape, []).append(index)
        for shape, indices in groups.items():
            height, width = shape[:2]
            if height * width > self.tile * self.tile:
                for index in indices:
                    results[index] = self._stylize_large(images[index], weights, strength)
                    if progress:
                        progress.add(1)
                continue
            for start in range(0, len(indices), self.batch_size):
                chunk = indices[start : start + self.batch_size]
                batch = np.stack([pad_image(images[i], self.multiple, self.minimum) for i in chunk])
                for index, result in zip(chunk, self._apply(batch, weights, strength), strict=True):
                    results[index] = result[:height, :width]
                if progress:
                    progress.add(len(chunk))
        for index, result in enumerate(results):
            if not np.isfinite(result).all():
                raise InputError(
                    f"{self.generator.name!r} produced non-finite values (NaN / infinity) for "
                    f"image {index}; the model is unusable (its training diverged): use an "
                    "earlier checkpoint or train again."
                )
        return [np.clip(result, -1.0, 1.0) for result in results]


def stylize(
    generator,
    images,
    style=None,
    strength=1.0,
    style_names=None,
    batch_size=4,
    max_tile_pixels=512 * 512,
    verbose=0,
):
    """Stylise images of any size with a trained generator.

    Args:
        generator: keras.Model. An image generator (one input), or a multi-style generator
            taking `{"image", "style", "strength"}`.
        images: one image (H, W, C) or a list / array of images, uint8 or float in [-1, 1];
            sizes may differ.
        style: str, int or dict. For a multi-style generator: a style name or index, or a
            blend such as `{"pencil": 0.3, "watercolour": 0.7}`. Defaults to None.
        strength: float in [0, 1]. 0 gives the content image back, 1 the full style. A
            multi-style generator takes it as an input; any other image generator's output is
            mixed with its input (`blend_with_input`). Defaults to 1.
        style_names: list of str. Names of the generator's styles, in index order. Defaults
            to the names saved with the model, else "0", "1", ...
        batch_size: int. Images (or tiles) per call. Defaults to 4.
        max_tile_pixels: int. Larger images are processed in overlapping tiles of about this
            many pixels, blended at the seams. Defaults to 512 * 512.
        verbose: int. 1 shows a progress bar. Defaults to 0.

    Returns:
        A list of float32 images in [-1, 1], each the size of its input.
    """
    names = style_names or getattr(generator, "style_names", None)
    stylizer = _cached_stylizer(generator, names, batch_size, max_tile_pixels)
    return stylizer(images, style=style, strength=strength, verbose=verbose)


# stylize()'s compiled Stylizers, per generator and arguments: a second call on images of a size
# already seen runs the traced function again instead of tracing a new one (a new tf.function per
# call cost 3.5-4.9x a reused one on a U-Net 256). The generator is a weak key and each Stylizer
# holds only a weak proxy of it, so the cache never keeps a model alive.
_STYLIZERS = weakref.WeakKeyDictionary()
_STYLIZERS_PER_GENERATOR = 8


def _cached_stylizer(generator, names, batch_size, max_tile_pixels):
    """The Stylizer that `stylize` uses for these arguments, made on first use.

    The weights are checked for finite values when the Stylizer is made; later calls rely on
    the Stylizer's check of every output. Generators that cannot be weakly referenced or
    hashed get a new Stylizer each time.
    """
    try:
        key = (
            tuple(names) if names is not None else None,
            batch_size,
            max_tile_pixels,
            size_multiple(generator),
        )
        hash(key)
        per_generator = _STYLIZERS.setdefault(generator, {})
    except TypeError:
        return Stylizer(generator, names, batch_size=batch_size, max_tile_pixels=max_tile_pixels)
    stylizer = per_generator.get(key)
    if stylizer is None:
        stylizer = Stylizer(
            weakref.proxy(generator),
            names,
            batch_size=batch_size,
            max_tile_pixels=max_tile_pixels,
        )
        if len(per_generator) >= _STYLIZERS_PER_GENERATOR:
            per_generator.pop(next(iter(per_generator)))
        per_generator[key] = stylizer
    return stylizer


def read_image_file(path, max_pixels=None):
    """A file as uint8 RGB `(H, W, 3)`, through the one decoder (`data.decoding.read_image`):
    identified by content, its pixel count checked from the header (`max_pixels`, default 64
    Mpx) before decoding, palette / gray / alpha / 16-bit converted. Raises `InputError` if it
    cannot be read."""
    from keras_styletransfer.data.decoding import read_image

    return read_image(path, max_pixels)


def collect_inputs(inputs, max_pixels=None):
    """Image files from a list of files and folders, unreadable ones skipped and counted.

    Folders are searched as training searches them (`data.folders.list_image_files`: images by
    content); every file is read by the one decoder, so a file training skips is skipped here
    with the same reason.

    Returns:
        `(paths, images, skipped)`: readable paths, their uint8 RGB arrays, and
        `(path, reason)` for each skipped file.
    """
    from keras_styletransfer.data.folders import list_image_files

    files = []
    for item in inputs:
        if os.path.isdir(item):
            files.extend(list_image_files(item))
        elif os.path.isfile(item):
            files.append(item)
        else:
            raise InputError(f"input {item!r} is neither a file nor a folder.")
    paths, images, skipped = [], [], []
    for path in files:
        try:
            images.append(read_image_file(path, max_pixels))
        except InputError as error:
            skipped.append((path, str(error)))
            continue
        paths.append(path)
    if not images:
        reasons = "; ".join(r for _, r in skipped[:3])
        raise InputError(f"no readable images among the inputs ({reasons})")
    return paths, images, skipped


def contact_sheet(rows, height=160, padding=4):
    """A uint8 sheet with one row per `(input, output, ...)` tuple of uint8 images, each scaled
    to `height` pixels high."""
    from PIL import Image

    def scaled(image):
        image = Image.fromarray(image)
        width = max(1, round(image.width * height / image.height))
        return np.asarray(image.resize((width, height), Image.BILINEAR))

    lines = [[scaled(image) for image in row] for row in rows]
    widths = [sum(i.shape[1] for i in line) + padding * (len(line) - 1) for line in lines]
    sheet = np.full(
        (len(lines) * (height + padding) - padding, max(widths), 3), 255, dtype=np.uint8
    )
    for index, line in enumerate(lines):
        left, top = 0, index * (height + padding)
        for image in line:
            sheet[top : top + height, left : left + image.shape[1]] = image
            left += image.shape[1] + padding
    return sheet
