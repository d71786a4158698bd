"""The serving graph of an exported generator: input checks, padding, decoding and signatures.

`ServingGraph(generator)` holds what every signature of one generator shares; `build_signatures`
returns the `(name, function, input_signature)` triples that `export.export_generator` adds to a
`keras.export.ExportArchive`:

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
to reflect), exactly as `inference.pad_image` pads for `stylize`, and the output is cropped back.
Every signature validates its inputs with `tf.debugging.Assert`: a wrong rank, channel count,
value range, style index, strength, style weights, oversized or undecodable image fails the one
request with an InvalidArgumentError whose message names the signature, the input and what was
expected. Style weights follow `validation.style_weights`' rule (finite, >= 0, a positive finite
sum; normalised), as `stylize` and `fuse` apply it.

The functions are traced without autograph: `tf.cond` / `tf.map_fn`, never Python `if` on tensors.
"""

from __future__ import annotations

import re

import tensorflow as tf

from keras_styletransfer.data.decoding import FORMAT_NAMES, decode_image_tf, image_header_tf
from keras_styletransfer.errors import InputError
from keras_styletransfer.images import to_model_range_tf, to_uint8_tf
from keras_styletransfer.serving.inference import (
    generator_kind,
    image_channels,
    minimum_side,
    size_multiple,
    style_slots,
)

# Largest height * width a signature accepts: activations of a full-size generator at 2048x2048
# take gigabytes, and an out-of-memory error would take the whole server down, not one request.
DEFAULT_MAX_PIXELS = 2048 * 2048

SIGNATURES = {
    "serving_default": "float32 images in [-1, 1] (batch, H, W, C) -> float32 images",
    "serve_uint8": "uint8 images (batch, H, W, C) -> uint8 images",
    "serve_bytes": "encoded JPEG/PNG/GIF/BMP strings (batch,) -> PNG strings",
    "serve_blend": "float32 images, style_weights (batch, num_styles), strength -> float32",
    "serve_bytes_<style>": "encoded images (batch,) -> PNG strings, that style at strength 1",
}


def safe_name(text):
    """`text` as a TF Serving model or signature name: lower-case letters, digits and `_`."""
    name = re.sub(r"[^A-Za-z0-9_]+", "_", str(text)).strip("_").lower()
    return name or "model"


# --- checks ------------------------------------------------------------------------------------


def _assert(condition, data, name):
    """`tf.debugging.Assert` printing whole shapes (up to 16 values of each data tensor)."""
    return tf.debugging.Assert(condition, data, summarize=16, name=name)


def _checked(checks, tensor):
    """`tensor`, computed only after every assertion in `checks` has passed."""
    with tf.control_dependencies(checks):
        return tf.identity(tensor)


def _shape_of(tensor, rank):
    """`(actual rank, shape padded or cut to `rank` entries)`: indexing it never fails, so checks
    built on it cannot crash before their assertion reports a wrong rank."""
    shape = tf.shape(tensor)
    return tf.size(shape), tf.concat([shape, tf.zeros([rank], tf.int32)], 0)[:rank]


def check_image_batch(images, channels, where, max_pixels):
    """Assert `images` is (batch, H, W, channels) with batch, H, W >= 1 and H * W <= max_pixels."""
    rank, shape = _shape_of(images, 4)
    right_rank = tf.equal(rank, 4)
    expected = f"(batch, height, width, {channels})"
    checks = [
        _assert(
            right_rank,
            [
                f"{where}: `images` must be a 4-D batch {expected}; received a tensor of shape",
                tf.shape(images),
            ],
            name="check_rank",
        ),
        _assert(
            tf.logical_or(tf.logical_not(right_rank), tf.equal(shape[3], channels)),
            [
                f"{where}: `images` must have {channels} channel(s) in the last axis {expected}; "
                "received shape",
                tf.shape(images),
            ],
            name="check_channels",
        ),
        _assert(
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
    return tf.ensure_shape(_checked(checks, images), [None, None, None, channels])


def check_float_range(images, where):
    """Assert float images are finite and in [-1, 1] (the model range)."""
    minimum, maximum = tf.reduce_min(images), tf.reduce_max(images)
    check = _assert(
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
    return _checked([check], images)


def batch_values(values, batch, dtype, where, name):
    """A scalar or (batch,) input as a (batch,) tensor; asserts the length."""
    values = tf.cast(values, dtype)
    check = _assert(
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
    values = _checked([check], values)
    return tf.broadcast_to(tf.reshape(values, [-1]), [batch])


# --- padding -----------------------------------------------------------------------------------


def _pad_indices(size, padded_size, reflect):
    index = tf.range(padded_size)
    reflected = tf.where(index < size, index, 2 * (size - 1) - index)
    edge = tf.minimum(index, size - 1)
    return tf.where(reflect, reflected, edge)


def pad_to_multiple(images, multiple, minimum):
    """Pad height and width up to a multiple (and at least `minimum`), as `inference.pad_image`
    does: reflection at the bottom and right, edge replication when the image is too small to
    reflect."""
    shape = tf.shape(images)
    height, width = shape[1], shape[2]
    padded_height = tf.maximum((height + multiple - 1) // multiple * multiple, minimum)
    padded_width = tf.maximum((width + multiple - 1) // multiple * multiple, minimum)
    reflect = tf.reduce_all(
        tf.stack(
            [height > 1, width > 1, padded_height - height < height, padded_width - width < width]
        )
    )
    images = tf.gather(images, _pad_indices(height, padded_height, reflect), axis=1)
    return tf.gather(images, _pad_indices(width, padded_width, reflect), axis=2)


# --- the graph every signature of one generator shares ------------------------------------------


class ServingGraph:
    """The traced pieces every signature of one generator shares.

    Args:
        generator: keras.Model. An image, multi-style or noise generator.
        style_names: list of str. A multi-style generator's slot names. Defaults to "0", "1", ...
        max_pixels: int. Largest height * width a request may send.

    Raises:
        InputError: style names that do not fit the generator, or images of other than 1 or 3
            channels (PNG cannot encode them).
    """

    def __init__(self, generator, style_names=None, max_pixels=DEFAULT_MAX_PIXELS):
        self.generator = generator
        self.kind = generator_kind(generator)
        self.max_pixels = int(max_pixels)
        if self.max_pixels < 1:
            raise InputError(f"max_pixels must be a positive integer; received {max_pixels}.")
        self.num_styles = style_slots(generator) if self.kind == "style" else 0
        self.style_names = None
        if self.kind == "noise":
            self.latent_dim = int(generator.inputs[0].shape[-1])
            self.channels = int(generator.outputs[0].shape[-1])
            self.multiple = self.minimum_side = None
        else:
            self.channels = image_channels(generator)
            self.multiple = size_multiple(generator)
            self.minimum_side = minimum_side(generator)
        if self.kind == "style":
            names = [str(n) for n in (style_names or range(self.num_styles))]
            if len(names) != self.num_styles:
                raise InputError(
                    f"the generator has {self.num_styles} style slots but {len(names)} style "
                    f"names were given ({names}); pass one name per slot."
                )
            self.style_names = names
        elif style_names:
            raise InputError(f"{generator.name!r} makes one style; leave style_names unset.")
        if self.kind != "noise" and self.channels not in (1, 3):
            raise InputError(
                f"{generator.name!r} takes {self.channels}-channel images; serve_bytes encodes "
                "PNGs and needs 1 or 3 channels."
            )

    def info(self):
        """What `export_info.json` records about the graph."""
        return {
            "kind": self.kind,
            "generator": self.generator.name,
            "style_names": self.style_names,
            "max_pixels": self.max_pixels,
            "size_multiple": self.multiple,
            "minimum_side": self.minimum_side,
        }

    # -- image-to-image core: float in, float out, any size --------------------------------------

    def stylize(self, images, style_weights=None, strength=None):
        """(batch, H, W, C) float in [-1, 1] -> same, through the generator, padded and cropped."""
        shape = tf.shape(images)
        padded = images
        if self.multiple > 1 or self.minimum_side > 1:
            padded = pad_to_multiple(images, self.multiple, self.minimum_side)
        if self.kind == "style":
            outputs = self.generator(
                {"image": padded, "style": style_weights, "strength": strength[:, None]},
                training=False,
            )
        else:
            outputs = self.generator(padded, training=False)
        outputs = tf.cast(outputs, tf.float32)[:, : shape[1], : shape[2], :]
        return tf.clip_by_value(outputs, -1.0, 1.0)

    def stylize_uint8(self, images, style_weights=None, strength=None):
        """uint8 images -> uint8 images, through `stylize`."""
        return to_uint8_tf(self.stylize(to_model_range_tf(images), style_weights, strength))

    def style_inputs(self, style, strength, batch, where):
        """One-hot style weights and strengths (batch,) from index / strength inputs."""
        index = batch_values(style, batch, tf.int32, where, "style")
        strength = batch_values(strength, batch, tf.float32, where, "strength")
        names = ", ".join(f"{i}={n}" for i, n in enumerate(self.style_names))
        check = _assert(
            tf.reduce_all(tf.logical_and(index >= 0, index < self.num_styles)),
            [
                f"{where}: `style` must be a style index in [0, {self.num_styles}) ({names}); "
                "received",
                index,
            ],
            name="check_style",
        )
        index = _checked([check], index)
        return tf.one_hot(index, self.num_styles), self.check_strength(strength, where)

    def check_strength(self, strength, where):
        check = _assert(
            tf.reduce_all(tf.logical_and(strength >= 0.0, strength <= 1.0)),
            [
                f"{where}: `strength` must be in [0, 1] (0: the photo, 1: the full style); "
                "received",
                strength,
            ],
            name="check_strength",
        )
        return _checked([check], strength)

    def blend_weights(self, weights, batch, where):
        """(batch, num_styles) weights, checked by `validation.style_weights`' rule, normalised."""
        weights = tf.cast(weights, tf.float32)
        rank, shape = _shape_of(weights, 2)
        right_shape = tf.logical_and(
            tf.equal(rank, 2), tf.reduce_all(tf.equal(shape, tf.stack([batch, self.num_styles])))
        )
        shape_check = _assert(
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
        weights = tf.ensure_shape(_checked([shape_check], weights), [None, self.num_styles])
        values_check = _assert(
            tf.reduce_all(tf.logical_and(tf.math.is_finite(weights), weights >= 0.0)),
            [f"{where}: style weights must be finite and >= 0; received", weights],
            name="check_weights",
        )
        total = tf.reduce_sum(_checked([values_check], weights), axis=-1, keepdims=True)
        sum_checks = [
            _assert(
                tf.reduce_all(tf.math.is_finite(total)),
                [
                    f"{where}: style weights are too large to add up; use weights such as 0.3 "
                    "and 0.7. Received",
                    weights,
                ],
                name="check_weights_sum",
            ),
            _assert(
                tf.reduce_all(total > 0.0),
                [f"{where}: style weights must not all be 0 for an image; received", weights],
                name="check_weights_not_zero",
            ),
        ]
        return _checked(sum_checks, weights / total)

    # -- decoding and encoding -------------------------------------------------------------------

    def decode(self, contents, index, where):
        """Encoded bytes -> (H, W, channels) uint8 through the one decoder's graph functions
        (`data.decoding`): the format by content and the size from the header are checked
        before anything is decoded, so a small file declaring a huge image fails its request
        instead of exhausting memory."""
        known, height, width = image_header_tf(contents)
        check = _assert(
            known,
            [
                f"{where}: element",
                index,
                f"of `image_bytes` is not a {FORMAT_NAMES} image (REST clients send each image "
                'as {"b64": "<base64 of the file>"}); its length in bytes is',
                tf.strings.length(contents),
            ],
            name="check_image_bytes",
        )
        with tf.control_dependencies([check]):
            size_check = _assert(
                tf.logical_and(
                    tf.logical_and(height >= 1, width >= 1), height * width <= self.max_pixels
                ),
                [
                    f"{where}: element",
                    index,
                    f"of `image_bytes` must be at least 1x1 and at most {self.max_pixels} "
                    "pixels (downscale it, or re-export with a larger max_pixels); its header "
                    "says height, width",
                    height,
                    width,
                ],
                name="check_image_header_size",
            )
        with tf.control_dependencies([check, size_check]):
            return decode_image_tf(contents, self.channels)

    def map_bytes(self, image_bytes, render, where):
        """Apply `render(uint8 image (1, H, W, C), position) -> uint8 image` to every encoded
        image; returns PNG strings (batch,)."""
        contents = tf.reshape(image_bytes, [-1])
        rank = _assert(
            tf.less_equal(tf.rank(image_bytes), 1),
            [
                f"{where}: `image_bytes` must be a string or a list of strings (batch,); "
                "received shape",
                tf.shape(image_bytes),
            ],
            name="check_bytes_rank",
        )
        contents = _checked([rank], contents)

        def one(item):
            data, position = item
            image = self.decode(data, position, where)
            image = check_image_batch(image[None], self.channels, where, self.max_pixels)
            return tf.io.encode_png(render(image, position)[0])

        positions = tf.range(tf.size(contents))
        return tf.map_fn(
            one, (contents, positions), fn_output_signature=tf.TensorSpec([], tf.string)
        )


# --- the signatures of each kind --------------------------------------------------------------


def _spec(dtype, name):
    return tf.TensorSpec(None, dtype, name=name)


def _image_signatures(graph):
    channels, max_pixels = graph.channels, graph.max_pixels

    def serving_default(images):
        where = "serving_default"
        images = check_float_range(check_image_batch(images, channels, where, max_pixels), where)
        return {"images": graph.stylize(images)}

    def serve_uint8(images):
        images = check_image_batch(images, channels, "serve_uint8", max_pixels)
        return {"images": graph.stylize_uint8(images)}

    def serve_bytes(image_bytes):
        def render(image, position):
            return graph.stylize_uint8(image)

        return {"image_bytes": graph.map_bytes(image_bytes, render, "serve_bytes")}

    return [
        ("serving_default", serving_default, [_spec(tf.float32, "images")]),
        ("serve_uint8", serve_uint8, [_spec(tf.uint8, "images")]),
        ("serve_bytes", serve_bytes, [_spec(tf.string, "image_bytes")]),
    ]


def _style_signatures(graph):
    channels, max_pixels = graph.channels, graph.max_pixels

    def serving_default(images, style, strength):
        where = "serving_default"
        images = check_float_range(check_image_batch(images, channels, where, max_pixels), where)
        weights, strength = graph.style_inputs(style, strength, tf.shape(images)[0], where)
        return {"images": graph.stylize(images, weights, strength)}

    def serve_uint8(images, style, strength):
        where = "serve_uint8"
        images = check_image_batch(images, channels, where, max_pixels)
        weights, strength = graph.style_inputs(style, strength, tf.shape(images)[0], where)
        return {"images": graph.stylize_uint8(images, weights, strength)}

    def serve_blend(images, style_weights, strength):
        where = "serve_blend"
        images = check_float_range(check_image_batch(images, channels, where, max_pixels), where)
        batch = tf.shape(images)[0]
        weights = graph.blend_weights(style_weights, batch, where)
        strength = batch_values(strength, batch, tf.float32, where, "strength")
        strength = graph.check_strength(strength, where)
        return {"images": graph.stylize(images, weights, strength)}

    def serve_bytes(image_bytes, style, strength):
        where = "serve_bytes"
        weights, strength = graph.style_inputs(style, strength, tf.size(image_bytes), where)

        def render(image, position):
            return graph.stylize_uint8(image, weights[position][None], strength[position][None])

        return {"image_bytes": graph.map_bytes(image_bytes, render, where)}

    def fixed_style(index, name):
        where = f"serve_bytes_{safe_name(name)}"

        def serve_bytes_style(image_bytes):
            weights, strength = tf.one_hot([index], graph.num_styles), tf.ones([1])

            def render(image, position):
                return graph.stylize_uint8(image, weights, strength)

            return {"image_bytes": graph.map_bytes(image_bytes, render, where)}

        return (where, serve_bytes_style, [_spec(tf.string, "image_bytes")])

    style, strength = _spec(tf.int32, "style"), _spec(tf.float32, "strength")
    float_images = _spec(tf.float32, "images")
    signatures = [
        ("serving_default", serving_default, [float_images, style, strength]),
        ("serve_uint8", serve_uint8, [_spec(tf.uint8, "images"), style, strength]),
        ("serve_bytes", serve_bytes, [_spec(tf.string, "image_bytes"), style, strength]),
        (
            "serve_blend",
            serve_blend,
            [float_images, _spec(tf.float32, "style_weights"), strength],
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
    latent_dim = graph.latent_dim

    def check_noise(noise, where):
        rank, shape = _shape_of(noise, 2)
        check = _assert(
            tf.logical_and(tf.equal(rank, 2), tf.equal(shape[1], latent_dim)),
            [f"{where}: `noise` must be (batch, {latent_dim}); received shape", tf.shape(noise)],
            name="check_noise",
        )
        noise = tf.ensure_shape(_checked([check], noise), [None, latent_dim])
        finite = _assert(
            tf.reduce_all(tf.math.is_finite(noise)),
            [f"{where}: `noise` must be finite (no NaN or infinity)"],
            name="check_noise_finite",
        )
        return _checked([finite], noise)

    def generate(noise):
        return tf.clip_by_value(
            tf.cast(graph.generator(noise, training=False), tf.float32), -1.0, 1.0
        )

    def serving_default(noise):
        return {"images": generate(check_noise(noise, "serving_default"))}

    def serve_uint8(noise):
        return {"images": to_uint8_tf(generate(check_noise(noise, "serve_uint8")))}

    def serve_bytes(seed):
        seeds = tf.reshape(tf.cast(seed, tf.int64), [-1])

        def one(value):
            noise = tf.random.stateless_normal([1, latent_dim], seed=tf.stack([value, 0]))
            return tf.io.encode_png(to_uint8_tf(generate(noise))[0])

        return {
            "image_bytes": tf.map_fn(one, seeds, fn_output_signature=tf.TensorSpec([], tf.string))
        }

    noise = _spec(tf.float32, "noise")
    return [
        ("serving_default", serving_default, [noise]),
        ("serve_uint8", serve_uint8, [noise]),
        ("serve_bytes", serve_bytes, [_spec(tf.int64, "seed")]),
    ]


def build_signatures(graph):
    """`[(name, function, input_signature)]`: the signatures of `graph`'s generator kind."""
    builders = {"image": _image_signatures, "style": _style_signatures, "noise": _noise_signatures}
    return builders[graph.kind](graph)


def describe(concrete_function):
    """`{"inputs": {name: {"dtype", "shape"}}, "outputs": {...}}` of a traced signature."""

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
