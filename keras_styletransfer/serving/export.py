"""Export a trained generator as a TensorFlow SavedModel that TensorFlow Serving loads.

`export_generator` writes the generator alone (no discriminator, no optimizer) with Keras 3's
`keras.export.ExportArchive` into TF Serving's layout, `out_dir/<model_name>/<version>/`, with
these signatures (`SIGNATURES` describes each):

  image-to-image generators (Pix2Pix, CycleGAN A->B or B->A, a bare ResNet / U-Net / ... model):
    serving_default  images float32 (batch, H, W, C) in [-1, 1]  -> images float32, same shape
    serve_uint8      images uint8 (batch, H, W, C)               -> images uint8, same shape
    serve_bytes      image_bytes string (batch,): JPEG/PNG/GIF/BMP -> image_bytes: PNG strings

  multi-style generators (MultiStyleGAN, StyleGenerator) take two more inputs in those three:
    style int32 (batch,) or scalar: the style index; strength float32 (batch,) or scalar in [0, 1];
  plus
    serve_blend      images, style_weights float32 (batch, num_styles), strength -> images
    serve_bytes_<style>  image_bytes only: that style at strength 1 (one per style)

  noise GANs (`models.gan.GAN`): serving_default / serve_uint8 take noise float32
  (batch, latent_dim); serve_bytes takes seed int64 (batch,) and returns PNG strings.

Any height and width is accepted: sizes the architecture cannot take (not multiples of its
`size_multiple`) are padded inside the graph by reflection (edge replication for images too small
to reflect), exactly as `keras_styletransfer.serving.inference` does, and the output is cropped back.
Every signature validates its inputs with `tf.debugging.Assert`: a wrong rank, channel count,
value range, style index, strength, oversized or undecodable image fails the one request with an
InvalidArgumentError whose message names the signature, the input and what was expected.

TF Serving cannot give a signature input a default value (a Predict request must feed every input
of the signature), so defaults are separate signatures: `serve_bytes_<style>` is "that style at
full strength", and all other multi-style signatures take `style` and `strength` explicitly.

Example:
    >>> from keras_styletransfer.serving.export import export_generator, verify_export
    >>> result = export_generator("run/final.keras", "exported", name="watercolour")
    >>> result.path
    'exported/watercolour/1'
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import tempfile

import numpy as np

from keras_styletransfer.errors import InputError

# Largest height * width a signature accepts: activations of a full-size generator at 2048x2048
# take gigabytes, and an out-of-memory error would take the whole server down, not one request.
DEFAULT_MAX_PIXELS = 2048 * 2048

# PNG, JPEG, GIF and BMP start with these bytes; anything else is refused before decoding.
_IMAGE_MAGIC = (b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"BM")

SIGNATURES = {
    "serving_default": "float32 images in [-1, 1] (batch, H, W, C) -> float32 images",
    "serve_uint8": "uint8 images (batch, H, W, C) -> uint8 images",
    "serve_bytes": "encoded JPEG/PNG/GIF/BMP strings (batch,) -> PNG strings",
    "serve_blend": "float32 images, style_weights (batch, num_styles), strength -> float32",
    "serve_bytes_<style>": "encoded images (batch,) -> PNG strings, that style at strength 1",
}


@dataclasses.dataclass(frozen=True)
class ExportResult:
    """What `export_generator` wrote.

    Attributes:
        path: str. The SavedModel directory, `out_dir/<name>/<version>`.
        name: str. The model name TF Serving serves it under (`MODEL_NAME`).
        version: int. The version directory.
        kind: str. "image" (image-to-image), "style" (multi-style) or "noise" (noise GAN).
        style_names: list of str or None. Style index order of a multi-style model.
        signatures: dict. Signature name -> {"inputs": {name: (dtype, shape)}, "outputs": ...}.
    """

    path: str
    name: str
    version: int
    kind: str
    style_names: list | None
    signatures: dict


def resolve_generator(model_or_path, direction="AB"):
    """The generator to export from a model, a `.keras` file, or a generator.

    Args:
        model_or_path: keras.Model or str. Anything `load_trained` takes.
        direction: str. "AB" or "BA": which CycleGAN generator. Defaults to "AB".

    Returns:
        `(generator, style_names, default_name)`: style_names is None unless the generator is
        a multi-style one; default_name is a model name for TF Serving.
    """
    from keras_styletransfer.models.loading import parts_of

    if direction not in ("AB", "BA"):
        raise InputError(f"direction must be 'AB' or 'BA'; received {direction!r}.")
    parts = parts_of(model_or_path, direction)
    return parts.generator, parts.style_names, parts.name


def generator_kind(generator):
    """ "style" for G(image, style, strength), "noise" for G(z), else "image"."""
    inputs = list(getattr(generator, "inputs", None) or [])
    if len(inputs) == 3:
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


def _safe_name(text):
    name = re.sub(r"[^A-Za-z0-9_]+", "_", str(text)).strip("_").lower()
    return name or "model"


def _next_version(model_dir):
    versions = (
        [int(e) for e in os.listdir(model_dir) if e.isdigit()] if os.path.isdir(model_dir) else []
    )
    return max(versions, default=0) + 1


# --- graph pieces (traced without autograph: tf.cond / tf.map_fn, never Python `if` on tensors) --


def _assert(tf, condition, data, name):
    """`tf.debugging.Assert` printing whole shapes (up to 16 values of each data tensor)."""
    return tf.debugging.Assert(condition, data, summarize=16, name=name)


def _checked(tf, checks, tensor):
    """`tensor`, computed only after every assertion in `checks` has passed."""
    with tf.control_dependencies(checks):
        return tf.identity(tensor)


def _shape_of(tf, tensor, rank):
    """`(actual rank, shape padded or cut to `rank` entries)`: indexing it never fails, so checks
    built on it cannot crash before their assertion reports a wrong rank."""
    shape = tf.shape(tensor)
    return tf.size(shape), tf.concat([shape, tf.zeros([rank], tf.int32)], 0)[:rank]


def _check_image_batch(tf, images, channels, where, max_pixels):
    """Assert `images` is (batch, H, W, channels) with batch, H, W >= 1 and H * W <= max_pixels."""
    rank, shape = _shape_of(tf, images, 4)
    right_rank = tf.equal(rank, 4)
    expected = f"(batch, height, width, {channels})"
    checks = [
        _assert(
            tf,
            right_rank,
            [
                f"{where}: `images` must be a 4-D batch {expected}; received a tensor of shape",
                tf.shape(images),
            ],
            name="check_rank",
        ),
        _assert(
            tf,
            tf.logical_or(tf.logical_not(right_rank), tf.equal(shape[3], channels)),
            [
                f"{where}: `images` must have {channels} channel(s) in the last axis {expected}; "
                "received shape",
                tf.shape(images),
            ],
            name="check_channels",
        ),
        _assert(
            tf,
            tf.logical_or(
                tf.logical_not(right_rank),
                tf.logical_and(
                    tf.reduce_all(shape[:3] >= 1),
                    tf.cast(shape[1], tf.int64) * tf.cast(shape[2], tf.int64) <= max_pixels,
                ),
            ),
            [
                f"{where}: batch, height and width must be at least 1 and height * width at "
                f"most {max_pixels} pixels (re-export with a larger max_pixels to allow more); "
                "received shape",
                tf.shape(images),
            ],
            name="check_size",
        ),
    ]
    return tf.ensure_shape(_checked(tf, checks, images), [None, None, None, channels])


def _check_float_range(tf, images, where):
    minimum, maximum = tf.reduce_min(images), tf.reduce_max(images)
    check = _assert(
        tf,
        tf.logical_and(
            tf.reduce_all(tf.math.is_finite(images)),
            tf.logical_and(minimum >= -1.0001, maximum <= 1.0001),
        ),
        [
            f"{where}: float images must be finite and in [-1, 1] (uint8 x / 127.5 - 1; or use "
            "serve_uint8); received values spanning",
            minimum,
            maximum,
        ],
        name="check_range",
    )
    return _checked(tf, [check], images)


def _pad_indices(tf, size, padded_size, reflect):
    index = tf.range(padded_size)
    reflected = tf.where(index < size, index, 2 * (size - 1) - index)
    edge = tf.minimum(index, size - 1)
    return tf.where(reflect, reflected, edge)


def _pad_to_multiple(tf, images, multiple, minimum):
    """Pad height and width up to a multiple (and at least `minimum`), as
    `inference.Stylizer._pad` does: reflection at the bottom and right, edge replication when
    the image is too small to reflect."""
    shape = tf.shape(images)
    height, width = shape[1], shape[2]
    padded_height = tf.maximum((height + multiple - 1) // multiple * multiple, minimum)
    padded_width = tf.maximum((width + multiple - 1) // multiple * multiple, minimum)
    reflect = tf.reduce_all(
        tf.stack(
            [height > 1, width > 1, padded_height - height < height, padded_width - width < width]
        )
    )
    images = tf.gather(images, _pad_indices(tf, height, padded_height, reflect), axis=1)
    return tf.gather(images, _pad_indices(tf, width, padded_width, reflect), axis=2)


def minimum_side(generator):
    """The smallest multiple of the generator's `size_multiple` it can process: a ResNet
    generator's reflection padding of 1 in its bottleneck needs that bottleneck to be 2 pixels,
    so a stride-4 ResNet takes 8x8 at least. Found by trying square zero images of 1, 2, ...
    8 times the multiple; images smaller than this are padded up to it."""
    from keras_styletransfer.models.base import named_input
    from keras_styletransfer.serving.inference import size_multiple

    multiple = size_multiple(generator)
    channels = int(named_input(generator, "image", 0).shape[-1])
    styled = generator_kind(generator) == "style"
    for factor in range(1, 9):
        side = factor * multiple
        images = np.zeros((1, side, side, channels), np.float32)
        inputs = images
        if styled:
            count = int(named_input(generator, "style", 1).shape[-1])
            inputs = {
                "image": images,
                "style": np.eye(count, dtype=np.float32)[:1],
                "strength": np.ones((1, 1), np.float32),
            }
        try:
            generator(inputs, training=False)
        except Exception:  # any failure means "too small": try the next size
            continue
        return side
    return multiple


def _batch_values(tf, values, batch, dtype, where, name):
    """A scalar or (batch,) input as a (batch,) tensor; asserts the length."""
    values = tf.cast(values, dtype)
    check = _assert(
        tf,
        tf.logical_or(
            tf.equal(tf.rank(values), 0),
            tf.logical_and(tf.equal(tf.rank(values), 1), tf.equal(tf.size(values), batch)),
        ),
        [
            f"{where}: `{name}` must be a scalar or hold one value per image (batch,); "
            "received shape",
            tf.shape(values),
            "for a batch of",
            batch,
        ],
        name=f"check_{name}_shape",
    )
    values = _checked(tf, [check], values)
    return tf.broadcast_to(tf.reshape(values, [-1]), [batch])


class _ServingGraph:
    """The traced pieces every signature of one generator shares."""

    def __init__(self, generator, kind, style_names, max_pixels):
        from keras_styletransfer.models.base import named_input
        from keras_styletransfer.serving.inference import size_multiple

        self.generator = generator
        self.kind = kind
        self.max_pixels = int(max_pixels)
        if kind == "noise":
            self.latent_dim = int(generator.inputs[0].shape[-1])
            self.channels = int(generator.outputs[0].shape[-1])
            self.num_styles = 0
        else:
            self.channels = int(named_input(generator, "image", 0).shape[-1])
            self.multiple = size_multiple(generator)
            self.minimum_side = minimum_side(generator)
            self.num_styles = (
                int(named_input(generator, "style", 1).shape[-1]) if kind == "style" else 0
            )
        self.style_names = style_names

    # -- image-to-image core: float in, float out, any size --------------------------------------

    def stylize(self, tf, images, style_weights=None, strength=None):
        """(batch, H, W, C) float in [-1, 1] -> same, through the generator, padded and cropped."""
        shape = tf.shape(images)
        padded = images
        if self.multiple > 1 or self.minimum_side > 1:
            padded = _pad_to_multiple(tf, images, self.multiple, self.minimum_side)
        if self.kind == "style":
            outputs = self.generator(
                {"image": padded, "style": style_weights, "strength": strength[:, None]},
                training=False,
            )
        else:
            outputs = self.generator(padded, training=False)
        outputs = tf.cast(outputs, tf.float32)[:, : shape[1], : shape[2], :]
        return tf.clip_by_value(outputs, -1.0, 1.0)

    def style_inputs(self, tf, style, strength, batch, where):
        """One-hot style weights and strengths (batch,) from index / strength inputs."""
        index = _batch_values(tf, style, batch, tf.int32, where, "style")
        strength = _batch_values(tf, strength, batch, tf.float32, where, "strength")
        names = ", ".join(f"{i}={n}" for i, n in enumerate(self.style_names))
        check = _assert(
            tf,
            tf.reduce_all(tf.logical_and(index >= 0, index < self.num_styles)),
            [
                f"{where}: `style` must be a style index in [0, {self.num_styles}) ({names}); "
                "received",
                index,
            ],
            name="check_style",
        )
        index = _checked(tf, [check], index)
        return tf.one_hot(index, self.num_styles), self.check_strength(tf, strength, where)

    def check_strength(self, tf, strength, where):
        check = _assert(
            tf,
            tf.reduce_all(tf.logical_and(strength >= 0.0, strength <= 1.0)),
            [
                f"{where}: `strength` must be in [0, 1] (0: the photo, 1: the full style); "
                "received",
                strength,
            ],
            name="check_strength",
        )
        return _checked(tf, [check], strength)

    def blend_weights(self, tf, weights, batch, where):
        weights = tf.cast(weights, tf.float32)
        rank, shape = _shape_of(tf, weights, 2)
        right_shape = tf.logical_and(
            tf.equal(rank, 2), tf.reduce_all(tf.equal(shape, tf.stack([batch, self.num_styles])))
        )
        shape_check = _assert(
            tf,
            right_shape,
            [
                f"{where}: `style_weights` must be (batch, {self.num_styles}), one weight per "
                f"style ({', '.join(self.style_names)}) for each image; received shape",
                tf.shape(weights),
                "for a batch of",
                batch,
            ],
            name="check_weights_shape",
        )
        weights = tf.ensure_shape(_checked(tf, [shape_check], weights), [None, self.num_styles])
        total = tf.reduce_sum(weights, axis=-1, keepdims=True)
        values_check = _assert(
            tf,
            tf.logical_and(tf.reduce_all(weights >= 0.0), tf.reduce_all(total > 0.0)),
            [
                f"{where}: `style_weights` must be finite, >= 0 and not all 0 for an image; "
                "received",
                weights,
            ],
            name="check_weights",
        )
        return _checked(tf, [values_check], weights / total)

    # -- decoding and encoding -------------------------------------------------------------------

    def decode(self, tf, contents, index, where):
        """Encoded bytes -> (H, W, channels) uint8, alpha composited on white (like
        `inference.read_image_file`)."""
        head = tf.strings.substr(contents, 0, 4)
        known = tf.reduce_any(
            tf.stack([tf.equal(tf.strings.substr(head, 0, len(m)), m) for m in _IMAGE_MAGIC])
        )
        check = _assert(
            tf,
            known,
            [
                f"{where}: element",
                index,
                "of `image_bytes` is not a JPEG, PNG, GIF or BMP file (REST clients send "
                'each image as {"b64": "<base64 of the file>"}); its length in bytes is',
                tf.strings.length(contents),
            ],
            name="check_image_bytes",
        )
        with tf.control_dependencies([check]):
            image = tf.io.decode_image(contents, channels=0, expand_animations=False)
        image = tf.ensure_shape(image, [None, None, None])
        count = tf.shape(image)[-1]
        values = tf.cast(image, tf.float32)
        color = tf.cond(
            count < 3, lambda: tf.tile(values[..., :1], [1, 1, 3]), lambda: values[..., :3]
        )
        alpha = tf.cond(
            tf.equal(count % 2, 0),
            lambda: values[..., -1:] / 255.0,
            lambda: tf.ones_like(values[..., :1]),
        )
        rgb = color * alpha + 255.0 * (1.0 - alpha)
        if self.channels == 1:
            rgb = tf.image.rgb_to_grayscale(rgb)
        return tf.cast(tf.round(tf.clip_by_value(rgb, 0.0, 255.0)), tf.uint8)

    def map_bytes(self, tf, image_bytes, render, where):
        """Apply `render(uint8 image (H, W, C), position) -> uint8 image` to every encoded image."""
        contents = tf.reshape(image_bytes, [-1])
        rank = _assert(
            tf,
            tf.less_equal(tf.rank(image_bytes), 1),
            [
                f"{where}: `image_bytes` must be a string or a list of strings (batch,); "
                "received shape",
                tf.shape(image_bytes),
            ],
            name="check_bytes_rank",
        )
        contents = _checked(tf, [rank], contents)

        def one(item):
            data, position = item
            image = self.decode(tf, data, position, where)
            image = _check_image_batch(tf, image[None], self.channels, where, self.max_pixels)
            return tf.io.encode_png(render(image, position)[0])

        positions = tf.range(tf.size(contents))
        return tf.map_fn(
            one, (contents, positions), fn_output_signature=tf.TensorSpec([], tf.string)
        )


def _to_float(tf, images):
    return tf.cast(images, tf.float32) / 127.5 - 1.0


def _to_uint8(tf, images):
    # tf.round, like np.round, rounds halves to even: the same bytes as images.to_uint8.
    return tf.cast(tf.round((tf.clip_by_value(images, -1.0, 1.0) + 1.0) * 127.5), tf.uint8)


def _image_signatures(graph):
    import tensorflow as tf

    channels = graph.channels

    def serving_default(images):
        where = "serving_default"
        images = _check_image_batch(tf, images, channels, where, graph.max_pixels)
        images = _check_float_range(tf, images, where)
        return {"images": graph.stylize(tf, images)}

    def serve_uint8(images):
        images = _check_image_batch(tf, images, channels, "serve_uint8", graph.max_pixels)
        return {"images": _to_uint8(tf, graph.stylize(tf, _to_float(tf, images)))}

    def serve_bytes(image_bytes):
        def render(image, position):
            return _to_uint8(tf, graph.stylize(tf, _to_float(tf, image)))

        return {"image_bytes": graph.map_bytes(tf, image_bytes, render, "serve_bytes")}

    return [
        ("serving_default", serving_default, [tf.TensorSpec(None, tf.float32, name="images")]),
        ("serve_uint8", serve_uint8, [tf.TensorSpec(None, tf.uint8, name="images")]),
        ("serve_bytes", serve_bytes, [tf.TensorSpec(None, tf.string, name="image_bytes")]),
    ]


def _style_signatures(graph):
    import tensorflow as tf

    channels = graph.channels
    style_spec = tf.TensorSpec(None, tf.int32, name="style")
    strength_spec = tf.TensorSpec(None, tf.float32, name="strength")

    def serving_default(images, style, strength):
        where = "serving_default"
        images = _check_image_batch(tf, images, channels, where, graph.max_pixels)
        images = _check_float_range(tf, images, where)
        weights, strength = graph.style_inputs(tf, style, strength, tf.shape(images)[0], where)
        return {"images": graph.stylize(tf, images, weights, strength)}

    def serve_uint8(images, style, strength):
        where = "serve_uint8"
        images = _check_image_batch(tf, images, channels, where, graph.max_pixels)
        weights, strength = graph.style_inputs(tf, style, strength, tf.shape(images)[0], where)
        outputs = graph.stylize(tf, _to_float(tf, images), weights, strength)
        return {"images": _to_uint8(tf, outputs)}

    def serve_blend(images, style_weights, strength):
        where = "serve_blend"
        images = _check_image_batch(tf, images, channels, where, graph.max_pixels)
        images = _check_float_range(tf, images, where)
        batch = tf.shape(images)[0]
        weights = graph.blend_weights(tf, style_weights, batch, where)
        strength = _batch_values(tf, strength, batch, tf.float32, where, "strength")
        strength = graph.check_strength(tf, strength, where)
        return {"images": graph.stylize(tf, images, weights, strength)}

    def serve_bytes(image_bytes, style, strength):
        where = "serve_bytes"
        batch = tf.size(image_bytes)
        weights, strength = graph.style_inputs(tf, style, strength, batch, where)

        def render(image, position):
            outputs = graph.stylize(
                tf, _to_float(tf, image), weights[position][None], strength[position][None]
            )
            return _to_uint8(tf, outputs)

        return {"image_bytes": graph.map_bytes(tf, image_bytes, render, where)}

    def fixed_style(index, name):
        where = f"serve_bytes_{_safe_name(name)}"

        def serve_bytes_style(image_bytes):
            weights = tf.one_hot([index], graph.num_styles)
            strength = tf.ones([1])

            def render(image, position):
                return _to_uint8(tf, graph.stylize(tf, _to_float(tf, image), weights, strength))

            return {"image_bytes": graph.map_bytes(tf, image_bytes, render, where)}

        return (where, serve_bytes_style, [tf.TensorSpec(None, tf.string, name="image_bytes")])

    float_images = tf.TensorSpec(None, tf.float32, name="images")
    signatures = [
        ("serving_default", serving_default, [float_images, style_spec, strength_spec]),
        (
            "serve_uint8",
            serve_uint8,
            [tf.TensorSpec(None, tf.uint8, name="images"), style_spec, strength_spec],
        ),
        (
            "serve_bytes",
            serve_bytes,
            [tf.TensorSpec(None, tf.string, name="image_bytes"), style_spec, strength_spec],
        ),
        (
            "serve_blend",
            serve_blend,
            [
                float_images,
                tf.TensorSpec(None, tf.float32, name="style_weights"),
                strength_spec,
            ],
        ),
    ]
    taken = {name for name, _, _ in signatures}
    for index, name in enumerate(graph.style_names):
        signature = fixed_style(index, name)
        if signature[0] in taken:
            raise InputError(
                f"style names {graph.style_names} give two signatures named {signature[0]!r}; "
                "pass distinct style_names."
            )
        taken.add(signature[0])
        signatures.append(signature)
    return signatures


def _noise_signatures(graph):
    import tensorflow as tf

    latent_dim = graph.latent_dim

    def check_noise(noise, where):
        rank, shape = _shape_of(tf, noise, 2)
        check = _assert(
            tf,
            tf.logical_and(tf.equal(rank, 2), tf.equal(shape[1], latent_dim)),
            [f"{where}: `noise` must be (batch, {latent_dim}); received shape", tf.shape(noise)],
            name="check_noise",
        )
        return tf.ensure_shape(_checked(tf, [check], noise), [None, latent_dim])

    def generate(noise):
        return tf.clip_by_value(
            tf.cast(graph.generator(noise, training=False), tf.float32), -1.0, 1.0
        )

    def serving_default(noise):
        return {"images": generate(check_noise(noise, "serving_default"))}

    def serve_uint8(noise):
        return {"images": _to_uint8(tf, generate(check_noise(noise, "serve_uint8")))}

    def serve_bytes(seed):
        seeds = tf.reshape(tf.cast(seed, tf.int64), [-1])

        def one(value):
            noise = tf.random.stateless_normal([1, latent_dim], seed=tf.stack([value, 0]))
            images = _to_uint8(tf, generate(noise))[0]
            return tf.io.encode_png(images)

        return {
            "image_bytes": tf.map_fn(one, seeds, fn_output_signature=tf.TensorSpec([], tf.string))
        }

    noise_spec = tf.TensorSpec(None, tf.float32, name="noise")
    return [
        ("serving_default", serving_default, [noise_spec]),
        ("serve_uint8", serve_uint8, [noise_spec]),
        ("serve_bytes", serve_bytes, [tf.TensorSpec(None, tf.int64, name="seed")]),
    ]


def _describe(concrete_function):
    def spec(tensor_spec):
        dims = None if tensor_spec.shape.rank is None else list(tensor_spec.shape.as_list())
        return {"dtype": tensor_spec.dtype.name, "shape": dims}

    arguments, keywords = concrete_function.structured_input_signature
    inputs = {value.name: spec(value) for value in arguments}
    inputs.update({name: spec(value) for name, value in keywords.items()})
    return {
        "inputs": inputs,
        "outputs": {
            name: spec(value)
            for name, value in sorted(concrete_function.structured_outputs.items())
        },
    }


def export_generator(
    model_or_generator,
    out_dir,
    *,
    name=None,
    version=None,
    direction="AB",
    style_names=None,
    max_pixels=DEFAULT_MAX_PIXELS,
    overwrite=False,
):
    """Export a generator as a SavedModel with TF Serving signatures (see the module docstring).

    The SavedModel is written to a temporary directory beside its destination and renamed into
    place when complete, so a TF Serving instance watching `out_dir/<name>` never loads a
    half-written version. `assets.extra/export_info.json` records the kind, style names and
    signatures (TF Serving ignores it).

    Args:
        model_or_generator: keras.Model or str. A trained GAN, Pix2Pix, CycleGAN or
            MultiStyleGAN, a bare generator, or a `.keras` file holding one.
        out_dir: str. The model base directory; the SavedModel goes to
            `out_dir/<name>/<version>/`.
        name: str. The model name (TF Serving's `MODEL_NAME`). Defaults to the model's name
            (CycleGAN: with `_ab` / `_ba`), made of letters, digits and underscores.
        version: int. The version directory. Defaults to the next free integer (1 at first).
        direction: str. "AB" or "BA": which CycleGAN generator. Defaults to "AB".
        style_names: list of str. Names of a multi-style generator's style indices. Defaults to
            the names the model carries (MultiStyleGAN's styles then its content domain), else
            "0", "1", ...
        max_pixels: int. Largest height * width a request may send. Defaults to 2048 * 2048.
        overwrite: bool. Replace an existing version directory. Defaults to False.

    Returns:
        An `ExportResult` (path, name, version, kind, style_names, signatures).

    Example:
        >>> result = export_generator(generator, "exported", name="pencil", version=3)
        >>> sorted(result.signatures)
        ['serve_bytes', 'serve_uint8', 'serving_default']
    """
    import keras

    generator, carried_names, default_name = resolve_generator(model_or_generator, direction)
    kind = generator_kind(generator)
    max_pixels = int(max_pixels)
    if max_pixels < 1:
        raise InputError(f"max_pixels must be a positive integer; received {max_pixels}.")
    graph = _ServingGraph(generator, kind, None, max_pixels)
    if kind == "style":
        names = [str(n) for n in (style_names or carried_names or range(graph.num_styles))]
        if len(names) != graph.num_styles:
            raise InputError(
                f"the generator has {graph.num_styles} style slots but {len(names)} style names "
                f"were given ({names}); pass one name per slot."
            )
        graph.style_names = names
    elif style_names:
        raise InputError(f"{generator.name!r} makes one style; leave style_names unset.")
    if kind != "noise" and graph.channels not in (1, 3):
        raise InputError(
            f"{generator.name!r} takes {graph.channels}-channel images; serve_bytes encodes "
            "PNGs and needs 1 or 3 channels."
        )

    name = _safe_name(name or default_name)
    model_dir = os.path.join(os.fspath(out_dir), name)
    if version is None:
        version = _next_version(model_dir)
    if isinstance(version, bool) or not isinstance(version, int | np.integer) or version < 0:
        raise InputError(f"version must be a non-negative integer; received {version!r}.")
    version = int(version)
    destination = os.path.join(model_dir, str(version))
    if os.path.exists(destination) and not overwrite:
        raise InputError(
            f"{destination} already exists; pass another version (the next free one is "
            f"{_next_version(model_dir)}), leave it unset, or overwrite it."
        )

    archive = keras.export.ExportArchive()
    archive.track(generator)
    builders = {"image": _image_signatures, "style": _style_signatures, "noise": _noise_signatures}
    signatures = builders[kind](graph)
    described = {}
    for signature_name, function, input_signature in signatures:
        endpoint = archive.add_endpoint(signature_name, function, input_signature=input_signature)
        described[signature_name] = _describe(endpoint.get_concrete_function())

    os.makedirs(model_dir, exist_ok=True)
    # A name that is not an integer: TF Serving skips it while it is being written.
    staging = tempfile.mkdtemp(prefix=f".export-{version}-", dir=model_dir)
    try:
        archive.write_out(staging, verbose=False)
        info_dir = os.path.join(staging, "assets.extra")
        os.makedirs(info_dir, exist_ok=True)
        info = {
            "kind": kind,
            "generator": generator.name,
            "style_names": graph.style_names,
            "max_pixels": max_pixels,
            "size_multiple": getattr(graph, "multiple", None),
            "minimum_side": getattr(graph, "minimum_side", None),
            "signatures": described,
        }
        with open(os.path.join(info_dir, "export_info.json"), "w") as file:
            json.dump(info, file, indent=2)
        if os.path.exists(destination):
            shutil.rmtree(destination)
        os.replace(staging, destination)
    finally:
        if os.path.exists(staging):
            shutil.rmtree(staging, ignore_errors=True)
    return ExportResult(
        path=destination,
        name=name,
        version=version,
        kind=kind,
        style_names=graph.style_names,
        signatures=described,
    )


def _png(image):
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(image[..., 0] if image.shape[-1] == 1 else image).save(buffer, format="PNG")
    return buffer.getvalue()


def _unpng(data):
    import io

    from PIL import Image

    array = np.asarray(Image.open(io.BytesIO(data)))
    return array[..., np.newaxis] if array.ndim == 2 else array


def verification_sample(generator, count=2, seed=0):
    """A sample for `verify_export`: uint8 images whose height and width are *not* multiples of
    the generator's stride (so the in-graph padding is exercised), or noise for a noise GAN."""
    kind = generator_kind(generator)
    rng = np.random.default_rng(seed)
    if kind == "noise":
        return rng.standard_normal((count, int(generator.inputs[0].shape[-1]))).astype("float32")
    from keras_styletransfer.models.base import named_input
    from keras_styletransfer.serving.inference import size_multiple

    multiple = size_multiple(generator)
    channels = int(named_input(generator, "image", 0).shape[-1])
    height, width = max(multiple, 16) + 3, max(multiple, 16) + 5
    return rng.integers(0, 256, (count, height, width, channels), dtype=np.uint8)


def _reference_outputs(generator, images, style_weights=None, strength=1.0):
    """The Keras generator on float images, one at a time, padded in NumPy the way
    `inference.Stylizer` pads (reflection, edge replication for tiny images) and cropped back:
    an implementation independent of the in-graph padding it checks."""
    from keras_styletransfer.serving.inference import size_multiple

    multiple, minimum = size_multiple(generator), minimum_side(generator)
    outputs = []
    for image in images:
        height, width = image.shape[:2]
        pad_height = max(-(-height // multiple) * multiple, minimum) - height
        pad_width = max(-(-width // multiple) * multiple, minimum) - width
        reflect = height > 1 and width > 1 and pad_height < height and pad_width < width
        padded = np.pad(
            image, ((0, pad_height), (0, pad_width), (0, 0)), mode="reflect" if reflect else "edge"
        )[np.newaxis]
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


def verify_export(
    saved_model_dir, keras_generator, sample, *, style=0, strength=0.5, style_names=None
):
    """Check every signature of an exported SavedModel against the Keras generator.

    The SavedModel is loaded with `tf.saved_model.load` and each signature is called on
    `sample`; the reference is the Keras generator called eagerly on each image padded in NumPy
    (reflection, as `inference.stylize` pads) and cropped back. Float outputs must agree within
    1e-5; uint8 and PNG outputs within 1 level, since a float difference of ~1e-7 can move a
    value across a rounding boundary (x.5 levels); in practice they are usually identical.

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

    from keras_styletransfer.images import to_uint8

    loaded = tf.saved_model.load(os.fspath(saved_model_dir))
    signatures = loaded.signatures
    kind = generator_kind(keras_generator)
    info_path = os.path.join(os.fspath(saved_model_dir), "assets.extra", "export_info.json")
    if style_names is None and os.path.isfile(info_path):
        with open(info_path) as file:
            style_names = json.load(file).get("style_names")
    results = {}

    def record(name, got, expected, limit):
        difference = (
            float(np.max(np.abs(np.asarray(got, np.float64) - expected))) if got.size else 0
        )
        results[name] = {
            "max_difference": difference,
            "limit": limit,
            "passed": bool(got.shape == expected.shape and difference <= limit),
        }

    if kind == "noise":
        noise = np.asarray(sample, np.float32)
        expected = np.clip(np.asarray(keras_generator(noise, training=False)), -1, 1)
        got = signatures["serving_default"](noise=tf.constant(noise))["images"].numpy()
        record("serving_default", got, expected, 1e-5)
        got = signatures["serve_uint8"](noise=tf.constant(noise))["images"].numpy()
        record("serve_uint8", got, to_uint8(expected).astype(np.float64), 1)
        seeds = np.arange(len(noise), dtype=np.int64) + 7
        encoded = signatures["serve_bytes"](seed=tf.constant(seeds))["image_bytes"].numpy()
        expected = np.stack(
            [
                to_uint8(
                    keras_generator(
                        tf.random.stateless_normal(
                            [1, noise.shape[-1]], seed=tf.constant([s, 0], tf.int64)
                        ),
                        training=False,
                    )
                )[0]
                for s in seeds
            ]
        )
        record("serve_bytes", np.stack([_unpng(e) for e in encoded]), expected, 1)
    else:
        images = np.asarray(sample)
        if images.dtype != np.uint8:
            images = to_uint8(images)
        floats = images.astype(np.float32) / 127.5 - 1.0
        styled = kind == "style"
        if styled:
            from keras_styletransfer.models.base import named_input

            num_styles = int(named_input(keras_generator, "style", 1).shape[-1])
            if not 0 <= int(style) < num_styles:
                raise InputError(f"style must be an index in [0, {num_styles}); got {style!r}.")

        def reference(style_value, strength_value):
            weights = np.eye(num_styles, dtype=np.float32)[int(style_value)] if styled else None
            return _reference_outputs(keras_generator, floats, weights, strength_value)

        expected = reference(style, strength)
        extra = {}
        if styled:
            batch = len(images)
            extra = {
                "style": tf.fill([batch], int(style)),
                "strength": tf.fill([batch], float(strength)),
            }
        got = signatures["serving_default"](images=tf.constant(floats), **extra)["images"]
        record("serving_default", got.numpy(), expected, 1e-5)
        got = signatures["serve_uint8"](images=tf.constant(images), **extra)["images"]
        record("serve_uint8", got.numpy(), to_uint8(expected).astype(np.float64), 1)
        encoded = tf.constant([_png(image) for image in images])
        got = signatures["serve_bytes"](image_bytes=encoded, **extra)["image_bytes"].numpy()
        record("serve_bytes", np.stack([_unpng(e) for e in got]), to_uint8(expected), 1)
        if styled:
            weights = tf.one_hot(extra["style"], num_styles)
            got = signatures["serve_blend"](
                images=tf.constant(floats), style_weights=weights, strength=extra["strength"]
            )["images"]
            record("serve_blend", got.numpy(), expected, 1e-5)
            if style_names:
                name = f"serve_bytes_{_safe_name(style_names[int(style)])}"
                full = reference(style, 1.0)
                got = signatures[name](image_bytes=encoded)["image_bytes"].numpy()
                record(name, np.stack([_unpng(e) for e in got]), to_uint8(full), 1)
    results["passed"] = all(entry["passed"] for entry in results.values())
    return results
