"""On-device export: a generator as a TensorFlow Lite (LiteRT) flat buffer.

`export_tflite(model, "exported/pencil.tflite", quantize="float16", size=(256, 256))` writes the
generator alone with one signature, `serving_default`, at a fixed input size (the converter cannot
lower the resize-up-sampling and padding ops with unknown height and width to built-in TFLite ops;
a fixed size also lets the runtime plan memory once):

  image-to-image generators (bare, fused, a wrapper's primary generator):
    images float32 (1, H, W, C) in [-1, 1]                       -> images float32 (1, H, W, C)
  multi-style generators (the style input is a blend: weights >= 0 summing to 1):
    images, style_weights float32 (1, num_styles), strength float32 (1,) -> images
  noise GANs:
    noise float32 (1, latent_dim)                                -> images

Only TFLite built-in operators are used (no Flex delegate), so the file runs in the plain runtime
on a phone. `NAME.json` beside the file records the kind, input size, style names, quantization
and value range for the app that loads it.

Quantization (`quantize`), measured on the shipped multi-style U-Net at 256x256 (2 shared cores):
  float32  4.8 MB, max |TFLite - Keras| 7e-6, 60 ms per image;
  float16  2.4 MB (weights in float16, computed in float32 on CPU), max 0.003, 53 ms;
  int8     1.3 MB (dynamic range: int8 weights, activations quantised on the fly), max 0.16
           (mean 0.006, about 1.5 levels of 255), 30 ms.
Pick float16 by default (half the size, no visible change; GPU delegates run it natively), int8
where size and CPU speed matter more than the last grey level.

References:
    TensorFlow Lite post-training quantization,
    https://www.tensorflow.org/lite/performance/post_training_quantization
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
import time

import numpy as np

from keras_styletransfer.errors import InputError
from keras_styletransfer.files import check_output_file, write_atomically, write_json
from keras_styletransfer.models.loading import parts_of
from keras_styletransfer.serving.inference import (
    generator_kind,
    image_channels,
    minimum_side,
    size_multiple,
    style_slots,
)

QUANTIZATIONS = ("float32", "float16", "int8")
DEFAULT_QUANTIZATION = "float16"
DEFAULT_SIZE = (256, 256)
# Largest max |TFLite - Keras| accepted by `verify_tflite` per quantization, in model units
# ([-1, 1]): float32 is exact up to operator order; float16 weights move outputs by ~1e-3; int8
# dynamic range moved the shipped model's outputs by up to 0.16 (tiny random test networks, whose
# weights are far from trained ones, by up to 0.3).
MAX_DIFFERENCE = {"float32": 1e-4, "float16": 0.02, "int8": 0.5}


@dataclasses.dataclass(frozen=True)
class TFLiteResult:
    """What `export_tflite` wrote.

    Attributes:
        path: str. The `.tflite` file.
        info_path: str. The JSON description beside it.
        info: dict. Kind, inputs, outputs, size, style names, quantization, bytes.
    """

    path: str
    info_path: str
    info: dict


def check_quantization(quantize):
    """`quantize` if it is one of `QUANTIZATIONS`, else a one-line `InputError`."""
    if quantize not in QUANTIZATIONS:
        raise InputError(
            f"quantize={quantize!r} is not a TFLite quantization; choose one of "
            f"{', '.join(QUANTIZATIONS)}."
        )
    return quantize


def parse_size(text):
    """`"256"` or 256 -> (256, 256); `"192x320"` (height x width) -> (192, 320)."""
    parts = str(text).lower().replace(" ", "").split("x")
    try:
        values = [int(part) for part in parts]
    except ValueError:
        values = []
    if len(values) == 1:
        values *= 2
    if len(values) != 2 or min(values) < 1:
        raise InputError(
            f"size {text!r} is not a size; give one side (256) or height x width (192x320)."
        )
    return tuple(values)


def check_size(generator, size):
    """The `(height, width)` the file will take, checked against the architecture."""
    height, width = parse_size(size) if isinstance(size, str | int) else tuple(int(s) for s in size)
    multiple, minimum = size_multiple(generator), minimum_side(generator)
    for side in (height, width):
        if side % multiple or side < minimum:
            near = max(minimum, round(side / multiple) * multiple)
            raise InputError(
                f"size {height}x{width}: {generator.name!r} takes sides that are multiples of "
                f"{multiple} and at least {minimum}; use e.g. {near}."
            )
    return height, width


def _endpoint(generator, kind, size):
    """`(function, input_signature, input names)` of the one signature."""
    import tensorflow as tf

    if kind == "noise":
        latent = int(generator.inputs[0].shape[-1])
        spec = [tf.TensorSpec((1, latent), tf.float32, name="noise")]
        return (lambda noise: {"images": generator(noise, training=False)}), spec, ["noise"]
    height, width = size
    images = tf.TensorSpec((1, height, width, image_channels(generator)), tf.float32, "images")
    if kind == "image":
        return (lambda images: {"images": generator(images, training=False)}), [images], ["images"]
    specs = [
        images,
        tf.TensorSpec((1, style_slots(generator)), tf.float32, name="style_weights"),
        tf.TensorSpec((1,), tf.float32, name="strength"),
    ]

    def stylize(images, style_weights, strength):
        inputs = {"image": images, "style": style_weights, "strength": strength[:, None]}
        return {"images": generator(inputs, training=False)}

    return stylize, specs, ["images", "style_weights", "strength"]


def convert_to_tflite(generator, quantize=DEFAULT_QUANTIZATION, size=DEFAULT_SIZE):
    """The TFLite flat buffer of a generator (see the module docstring for its signature).

    Args:
        generator: keras.Model. An image, multi-style or noise generator.
        quantize: str. "float32", "float16" or "int8" (dynamic range). Defaults to "float16".
        size: (int, int), int or str. Input height and width (multiples of the generator's
            `size_multiple`); ignored for noise generators. Defaults to (256, 256).

    Returns:
        `(flat buffer bytes, input names)`.
    """
    import keras
    import tensorflow as tf

    from keras_styletransfer.kernels import portable_ops

    check_quantization(quantize)
    kind = generator_kind(generator)
    size = None if kind == "noise" else check_size(generator, size)
    function, signature, names = _endpoint(generator, kind, size)
    with tempfile.TemporaryDirectory(prefix="tflite-") as saved_model, portable_ops():
        # Keras 3 variables are only captured through a SavedModel (a concrete function alone
        # converts to a file without weights).
        archive = keras.export.ExportArchive()
        archive.track(generator)
        archive.add_endpoint("serving_default", function, input_signature=signature)
        archive.write_out(saved_model, verbose=False)
        converter = tf.lite.TFLiteConverter.from_saved_model(saved_model)
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
        if quantize != "float32":
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
        if quantize == "float16":
            converter.target_spec.supported_types = [tf.float16]
        try:
            flat_buffer = converter.convert()
        except Exception as error:  # the converter raises ConverterError with MLIR dumps
            first = str(error).strip().splitlines()[0] if str(error).strip() else "failed"
            raise InputError(
                f"{generator.name!r} cannot be converted to TFLite built-in operators "
                f"({first[:200]}); export a SavedModel instead (--format savedmodel)."
            ) from None
    return flat_buffer, names


def checked_style_names(generator, style_names):
    """A multi-style generator's style names as strings, one per slot ("0", "1", ... if None)."""
    slots = style_slots(generator)
    names = [str(name) for name in style_names or range(slots)]
    if len(names) != slots:
        raise InputError(
            f"{len(names)} style names ({', '.join(names)}) for a generator with {slots} "
            "style slots; give one name per slot, in index order."
        )
    return names


def describe_tflite(generator, kind, size, input_names, quantize, style_names, flat_buffer):
    """The JSON-ready description an app needs to call the file."""
    info = {
        "format": "tflite",
        "kind": kind,
        "quantize": quantize,
        "bytes": len(flat_buffer),
        "signature": "serving_default",
        "inputs": input_names,
        "outputs": ["images"],
        "value_range": [-1.0, 1.0],
        "convert": "model = uint8 / 127.5 - 1; uint8 = round((images + 1) * 127.5)",
    }
    if kind != "noise":
        info["size"] = {"height": size[0], "width": size[1]}
        info["channels"] = image_channels(generator)
    if kind == "style":
        info["style_names"] = checked_style_names(generator, style_names)
        info["style_weights"] = "one weight per style, >= 0, summing to 1 (a one-hot picks one)"
    return info


def export_tflite(
    model_or_generator,
    path,
    *,
    quantize=DEFAULT_QUANTIZATION,
    size=DEFAULT_SIZE,
    direction=None,
    style_names=None,
    overwrite=False,
):
    """Write a generator as a `.tflite` file and its description `NAME.json` beside it.

    Args:
        model_or_generator: keras.Model or str. A trained wrapper (its primary generator, or
            the CycleGAN `direction`), a bare or fused generator, or a `.keras` file of one.
        path: str. The `.tflite` file to write.
        quantize: str. "float32", "float16" or "int8". Defaults to "float16".
        size: (int, int), int or str. Input height and width. Defaults to (256, 256).
        direction: str. "AB" or "BA" for a CycleGAN. Defaults to None.
        style_names: list of str. A multi-style generator's style names. Defaults to the names
            saved with the model.
        overwrite: bool. Replace existing files. Defaults to False.

    Returns:
        A `TFLiteResult`.

    Example:
        >>> result = export_tflite("run/final.keras", "pencil.tflite", quantize="int8")
        >>> result.info["bytes"]
    """
    path = os.fspath(path)
    if not path.endswith(".tflite"):
        raise InputError(f"{path!r}: a TFLite file name must end in .tflite.")
    check_quantization(quantize)
    info_path = path[: -len(".tflite")] + ".json"
    inputs = (model_or_generator,) if isinstance(model_or_generator, str | os.PathLike) else ()
    for target in (path, info_path):
        check_output_file(target, inputs=inputs, overwrite=overwrite)
    parts = parts_of(model_or_generator, direction)
    generator = parts.generator
    kind = generator_kind(generator)
    size = None if kind == "noise" else check_size(generator, size)
    style_names = style_names or parts.style_names
    if kind == "style":
        checked_style_names(generator, style_names)  # before the conversion
    flat_buffer, names = convert_to_tflite(generator, quantize, size)
    info = describe_tflite(generator, kind, size, names, quantize, style_names, flat_buffer)

    def write_buffer(temporary):
        with open(temporary, "wb") as file:
            file.write(flat_buffer)

    write_atomically(path, write_buffer)
    write_json(info_path, info)
    return TFLiteResult(path=path, info_path=info_path, info=info)


def tflite_runner(path_or_buffer, num_threads=None):
    """A callable `runner(**inputs) -> dict of outputs` for a `.tflite` file or flat buffer."""
    import warnings

    import tensorflow as tf

    source = (
        {"model_content": bytes(path_or_buffer)}
        if isinstance(path_or_buffer, bytes | bytearray)
        else {"model_path": os.fspath(path_or_buffer)}
    )
    with warnings.catch_warnings():  # tf.lite.Interpreter's deprecation notice (LiteRT)
        warnings.simplefilter("ignore")
        interpreter = tf.lite.Interpreter(**source, num_threads=num_threads or os.cpu_count())
    return interpreter.get_signature_runner("serving_default")


def tflite_sample(generator, info, seed=0):
    """Inputs for one call of the file `info` describes: a smooth random image (with a random
    style blend and strength 0.8 for a multi-style generator) or noise."""
    rng = np.random.default_rng(seed)
    if info["kind"] == "noise":
        return {"noise": rng.standard_normal((1, int(generator.inputs[0].shape[-1])), np.float32)}
    height, width = info["size"]["height"], info["size"]["width"]
    # Smooth content (photo-like statistics) rather than white noise: quantisation errors on
    # noise say little about photos.
    coarse = rng.uniform(-1, 1, (1, max(1, height // 16), max(1, width // 16), info["channels"]))
    images = np.repeat(np.repeat(coarse, 16, axis=1), 16, axis=2)[:, :height, :width]
    sample = {"images": np.ascontiguousarray(images, np.float32)}
    if info["kind"] == "style":
        weights = rng.uniform(0, 1, (1, len(info["style_names"])))
        sample["style_weights"] = (weights / weights.sum()).astype(np.float32)
        sample["strength"] = np.full((1,), 0.8, np.float32)
    return sample


def _keras_call(generator, info, sample):
    if info["kind"] == "noise":
        return generator(sample["noise"], training=False)
    if info["kind"] == "image":
        return generator(sample["images"], training=False)
    return generator(
        {
            "image": sample["images"],
            "style": sample["style_weights"],
            "strength": sample["strength"][:, None],
        },
        training=False,
    )


def _milliseconds(call, repeats):
    call()  # the first call allocates
    start = time.perf_counter()
    for _ in range(repeats):
        call()
    return 1000 * (time.perf_counter() - start) / repeats


def verify_tflite(path_or_buffer, generator, info, repeats=3, seed=0):
    """Run the TFLite file in `tf.lite.Interpreter` and compare it with the Keras generator.

    Returns:
        dict: `max_difference`, `mean_difference` (model units), `limit` (`MAX_DIFFERENCE` of
        its quantization), `passed`, `tflite_ms` and `keras_ms` (per call, batch 1; Keras
        through one `tf.function`).
    """
    import tensorflow as tf

    runner = tflite_runner(path_or_buffer)
    sample = tflite_sample(generator, info, seed)
    output = np.asarray(runner(**sample)["images"], np.float64)
    expected = np.asarray(_keras_call(generator, info, sample), np.float64)
    if output.shape != expected.shape:
        raise InputError(
            f"the TFLite file returns shape {output.shape} but the generator {expected.shape}; "
            "export it again from this model."
        )
    difference = np.abs(output - expected)
    compiled = tf.function(lambda: _keras_call(generator, info, sample))
    limit = MAX_DIFFERENCE[info["quantize"]]
    return {
        "max_difference": float(difference.max()),
        "mean_difference": float(difference.mean()),
        "limit": limit,
        "passed": bool(np.isfinite(difference).all() and difference.max() <= limit),
        "tflite_ms": _milliseconds(lambda: runner(**sample), repeats),
        "keras_ms": _milliseconds(compiled, repeats),
    }
