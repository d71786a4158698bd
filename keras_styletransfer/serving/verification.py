"""Check an exported SavedModel against the Keras generator it was exported from.

`verify_export` loads the SavedModel with `tf.saved_model.load`, calls each signature on a sample
and compares the result with `reference_outputs`: the Keras generator called eagerly on each
image, padded in NumPy by `inference.pad_image` (independent of the in-graph padding it checks)
and cropped back. `verification_sample(generator)` makes a sample whose sizes exercise the padding.
"""

from __future__ import annotations

import io
import json
import os

import numpy as np

from keras_styletransfer.errors import InputError
from keras_styletransfer.images import to_model_range, to_uint8
from keras_styletransfer.serving.inference import (
    generator_kind,
    image_channels,
    minimum_side,
    pad_image,
    size_multiple,
    style_slots,
)
from keras_styletransfer.serving.signatures import safe_name


def _png(image):
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(image[..., 0] if image.shape[-1] == 1 else image).save(buffer, format="PNG")
    return buffer.getvalue()


def _unpng(data):
    from PIL import Image

    array = np.asarray(Image.open(io.BytesIO(data)))
    return array[..., np.newaxis] if array.ndim == 2 else array


def verification_sample(generator, count=2, seed=0):
    """A sample for `verify_export`: uint8 images whose height and width are *not* multiples of
    the generator's stride (so the in-graph padding is exercised), or noise for a noise GAN."""
    rng = np.random.default_rng(seed)
    if generator_kind(generator) == "noise":
        return rng.standard_normal((count, int(generator.inputs[0].shape[-1]))).astype("float32")
    side = max(size_multiple(generator), 16)
    shape = (count, side + 3, side + 5, image_channels(generator))
    return rng.integers(0, 256, shape, dtype=np.uint8)


def reference_outputs(generator, images, style_weights=None, strength=1.0):
    """The Keras generator on float images `(N, H, W, C)`, one at a time, padded in NumPy as
    `stylize` pads (reflection, edge replication for tiny images, at least `minimum_side`) and
    cropped back; float64 in [-1, 1]."""
    multiple, minimum = size_multiple(generator), minimum_side(generator)
    outputs = []
    for image in images:
        height, width = image.shape[:2]
        padded = pad_image(image, multiple, minimum)[np.newaxis]
        if style_weights is None:
            output = generator(padded, training=False)
        else:
            output = generator(
                {
                    "image": padded,
                    "style": np.asarray(style_weights, np.float32)[np.newaxis],
                    "strength": np.full((1, 1), strength, np.float32),
                },
                training=False,
            )
        outputs.append(np.clip(np.asarray(output)[0, :height, :width], -1.0, 1.0))
    return np.stack(outputs).astype(np.float64)


class _Record(dict):
    """Signature name -> {"max_difference", "limit", "passed"}."""

    def add(self, name, got, expected, limit):
        got = np.asarray(got)
        difference = float(np.max(np.abs(got.astype(np.float64) - expected))) if got.size else 0.0
        self[name] = {
            "max_difference": difference,
            "limit": limit,
            "passed": bool(got.shape == expected.shape and difference <= limit),
        }


def _verify_noise(signatures, generator, sample, record):
    import tensorflow as tf

    noise = np.asarray(sample, np.float32)
    expected = np.clip(np.asarray(generator(noise, training=False)), -1, 1)
    got = signatures["serving_default"](noise=tf.constant(noise))["images"].numpy()
    record.add("serving_default", got, expected, 1e-5)
    got = signatures["serve_uint8"](noise=tf.constant(noise))["images"].numpy()
    record.add("serve_uint8", got, to_uint8(expected).astype(np.float64), 1)
    seeds = np.arange(len(noise), dtype=np.int64) + 7
    encoded = signatures["serve_bytes"](seed=tf.constant(seeds))["image_bytes"].numpy()
    expected = np.stack(
        [
            to_uint8(
                generator(
                    tf.random.stateless_normal(
                        [1, noise.shape[-1]], seed=tf.constant([s, 0], tf.int64)
                    ),
                    training=False,
                )
            )[0]
            for s in seeds
        ]
    )
    record.add("serve_bytes", np.stack([_unpng(e) for e in encoded]), expected, 1)


def _verify_images(signatures, generator, sample, record, style, strength, style_names):
    import tensorflow as tf

    images = np.asarray(sample)
    if images.dtype != np.uint8:
        images = to_uint8(images)
    floats = to_model_range(images)
    styled = generator_kind(generator) == "style"
    if styled:
        num_styles = style_slots(generator)
        if not 0 <= int(style) < num_styles:
            raise InputError(f"style must be an index in [0, {num_styles}); got {style!r}.")

    def reference(style_value, strength_value):
        weights = np.eye(num_styles, dtype=np.float32)[int(style_value)] if styled else None
        return reference_outputs(generator, floats, weights, strength_value)

    def decoded(output):
        return np.stack([_unpng(e) for e in output["image_bytes"].numpy()])

    expected = reference(style, strength)
    extra = {}
    if styled:
        extra = {
            "style": tf.fill([len(images)], int(style)),
            "strength": tf.fill([len(images)], float(strength)),
        }
    got = signatures["serving_default"](images=tf.constant(floats), **extra)["images"]
    record.add("serving_default", got, expected, 1e-5)
    got = signatures["serve_uint8"](images=tf.constant(images), **extra)["images"]
    record.add("serve_uint8", got, to_uint8(expected).astype(np.float64), 1)
    encoded = tf.constant([_png(image) for image in images])
    got = decoded(signatures["serve_bytes"](image_bytes=encoded, **extra))
    record.add("serve_bytes", got, to_uint8(expected), 1)
    if styled:
        weights = tf.one_hot(extra["style"], num_styles)
        got = signatures["serve_blend"](
            images=tf.constant(floats), style_weights=weights, strength=extra["strength"]
        )["images"]
        record.add("serve_blend", got, expected, 1e-5)
        if style_names:
            name = f"serve_bytes_{safe_name(style_names[int(style)])}"
            got = decoded(signatures[name](image_bytes=encoded))
            record.add(name, got, to_uint8(reference(style, 1.0)), 1)


def verify_export(
    saved_model_dir, keras_generator, sample, *, style=0, strength=0.5, style_names=None
):
    """Check every signature of an exported SavedModel against the Keras generator.

    The SavedModel is loaded with `tf.saved_model.load` and each signature is called on
    `sample`; the reference is `reference_outputs`. Float outputs must agree within 1e-5; uint8
    and PNG outputs within 1 level, since a float difference of ~1e-7 can move a value across a
    rounding boundary (x.5 levels); in practice they are usually identical.

    Args:
        saved_model_dir: str. The version directory `export_generator` wrote.
        keras_generator: keras.Model. The generator that was exported.
        sample: array. uint8 (batch, H, W, C) images, or float images in [-1, 1] (rounded to
            uint8 first, so that all signatures see the same pixels); noise (batch, latent_dim)
            for a noise GAN. `verification_sample(generator)` makes one.
        style: int. Style index for multi-style generators. Defaults to 0.
        strength: float. Strength for multi-style generators. Defaults to 0.5.
        style_names: list of str. A multi-style generator's style names, for the fixed-style
            signatures `serve_bytes_<style>`. Defaults to the export's `export_info.json`.

    Returns:
        A dict: signature name -> {"max_difference": float, "limit": float, "passed": bool},
        plus "passed": bool for all of them.
    """
    import tensorflow as tf

    signatures = tf.saved_model.load(os.fspath(saved_model_dir)).signatures
    info_path = os.path.join(os.fspath(saved_model_dir), "assets.extra", "export_info.json")
    if style_names is None and os.path.isfile(info_path):
        with open(info_path) as file:
            style_names = json.load(file).get("style_names")
    record = _Record()
    if generator_kind(keras_generator) == "noise":
        _verify_noise(signatures, keras_generator, sample, record)
    else:
        _verify_images(signatures, keras_generator, sample, record, style, strength, style_names)
    results = dict(record)
    results["passed"] = all(entry["passed"] for entry in record.values())
    return results
