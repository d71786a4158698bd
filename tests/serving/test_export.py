"""SavedModel export for TF Serving: layout, signatures, in-graph padding and checks, served in a
fresh process that imports TensorFlow only (tests/serving_check.py), saved_model_cli, REST."""

import base64
import io
import json
import os
import re
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from keras_styletransfer.cli import main
from keras_styletransfer.errors import InputError
from keras_styletransfer.images import to_uint8
from keras_styletransfer.models.cyclegan import CycleGAN
from keras_styletransfer.models.generators import MLPGenerator, ResnetGenerator, StyleGenerator
from keras_styletransfer.models.loading import parts_of
from keras_styletransfer.models.multistyle import MultiStyleGAN
from keras_styletransfer.models.pix2pix import Pix2Pix
from keras_styletransfer.serving.export import export_generator, verify_export
from keras_styletransfer.serving.inference import stylize
from keras_styletransfer.serving.verification import reference_outputs

HERE = os.path.dirname(os.path.abspath(__file__))


def conv_generator(name, seed=0):
    images = keras.Input((None, None, 3))
    x = keras.layers.Conv2D(4, 3, padding="same", activation="relu")(images)
    x = keras.layers.Conv2D(3, 3, padding="same", activation="tanh")(x)
    model = keras.Model(images, x, name=name)
    rng = np.random.default_rng(seed)
    model.set_weights([rng.normal(0, 0.5, w.shape).astype("float32") for w in model.weights])
    return model


def discriminator(conditional=False, domains=None):
    images = keras.Input((None, None, 3), name="image")
    inputs = [keras.Input((None, None, 3), name="condition"), images] if conditional else images
    x = keras.layers.Concatenate()(inputs) if conditional else images
    x = keras.layers.Conv2D(4, 4, strides=2, padding="same", activation="relu")(x)
    if domains:
        x = keras.layers.GlobalAveragePooling2D()(x)
        return keras.Model(images, [keras.layers.Dense(1)(x), keras.layers.Dense(domains)(x)])
    return keras.Model(inputs, keras.layers.Conv2D(1, 4, padding="same")(x))


def png(image):
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return buffer.getvalue()


def unpng(data):
    return np.asarray(Image.open(io.BytesIO(data)))


def b64(data):
    return {"b64": base64.b64encode(data).decode("ascii")}


def run_cli(*args):
    import contextlib

    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        status = main(list(args))
    return status, stdout.getvalue(), stderr.getvalue()


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    """A Pix2Pix (ResNet generator, stride 4) and a MultiStyleGAN, saved as .keras files and
    exported through the CLI."""
    root = tmp_path_factory.mktemp("export")
    keras.utils.set_random_seed(3)
    pix2pix = Pix2Pix(
        ResnetGenerator(num_residual_blocks=1, filters=4), discriminator(conditional=True)
    )
    pix2pix.save(root / "pix2pix.keras")
    multistyle = MultiStyleGAN(
        StyleGenerator(num_styles=3, filters=4, num_residual_blocks=1),
        discriminator(domains=3),
        ["pencil", "cartoon"],
    )
    multistyle.save(root / "multistyle.keras")
    out = root / "exported"
    image_run = run_cli(
        "export", "--model", str(root / "pix2pix.keras"), "--out", str(out), "--name", "pencil"
    )
    style_run = run_cli("export", "--model", str(root / "multistyle.keras"), "--out", str(out))
    return {
        "root": root,
        "out": out,
        "image_run": image_run,
        "style_run": style_run,
        "image_dir": str(out / "pencil" / "1"),
        "style_dir": str(out / "multistyle_gan" / "1"),
        # The generators as a user reloads them from the files that were exported.
        "image_generator": parts_of(str(root / "pix2pix.keras")).generator,
        "style_generator": parts_of(str(root / "multistyle.keras")).generator,
    }


def test_cli_writes_tf_serving_layout_prints_and_verifies_signatures(exports):
    status, stdout, _ = exports["image_run"]
    assert status == 0, stdout
    assert sorted(os.listdir(exports["out"] / "pencil")) == ["1"]  # no staging folder left
    assert os.path.isfile(os.path.join(exports["image_dir"], "saved_model.pb"))
    assert os.path.isdir(os.path.join(exports["image_dir"], "variables"))
    assert "model name 'pencil', version 1" in stdout
    for name in ("serving_default", "serve_uint8", "serve_bytes"):
        assert re.search(rf"verified {name}: max difference \S+ \(limit \S+\) ok", stdout), stdout
    assert "serve_bytes: image_bytes string any shape -> image_bytes string (?)" in stdout

    status, stdout, _ = exports["style_run"]
    assert status == 0, stdout
    assert "style indices: 0=pencil, 1=cartoon, 2=photo" in stdout
    for name in ("serve_blend", "serve_bytes_pencil", "serve_bytes_cartoon", "serve_bytes_photo"):
        assert f"  {name}: " in stdout
    assert "verified serve_bytes_pencil" in stdout and "FAILED" not in stdout
    with open(os.path.join(exports["style_dir"], "assets.extra", "export_info.json")) as file:
        info = json.load(file)
    assert info["style_names"] == ["pencil", "cartoon", "photo"]
    assert info["signatures"]["serving_default"]["inputs"]["style"]["dtype"] == "int32"


def test_versions_names_and_bad_arguments(tmp_path):
    generator = conv_generator("painter")
    first = export_generator(generator, tmp_path)
    second = export_generator(generator, tmp_path)
    assert (first.name, first.version, second.version) == ("painter", 1, 2)
    assert second.path == os.path.join(str(tmp_path), "painter", "2")
    with pytest.raises(InputError, match=r"already exists.*next free one is 3"):
        export_generator(generator, tmp_path, version=1)
    replaced = export_generator(
        conv_generator("painter", seed=1), tmp_path, version=1, overwrite=True
    )
    assert sorted(os.listdir(tmp_path / "painter")) == ["1", "2"]
    sample = np.random.default_rng(0).integers(0, 256, (1, 5, 7, 3), dtype=np.uint8)
    # The overwritten version serves the new weights, not the old ones.
    assert verify_export(replaced.path, conv_generator("x", seed=1), sample)["passed"]
    assert not verify_export(replaced.path, generator, sample)["passed"]
    with pytest.raises(InputError, match="makes one style"):
        export_generator(generator, tmp_path, style_names=["a"])
    with pytest.raises(InputError, match="direction must be 'AB' or 'BA'"):
        export_generator(generator, tmp_path, direction="CA")
    with pytest.raises(InputError, match="3 style slots but 2 style names"):
        export_generator(
            StyleGenerator(3, filters=2, num_residual_blocks=1), tmp_path, style_names=["a", "b"]
        )
    status, _, stderr = run_cli("export", "--model", str(tmp_path / "none.keras"), "--out", "x")
    assert status == 2 and "not found" in stderr


def test_cyclegan_direction_and_noise_generator(tmp_path):
    cyclegan = CycleGAN(
        conv_generator("g_ab", seed=1),
        conv_generator("g_ba", seed=2),
        discriminator(),
        discriminator(),
        image_shape=(8, 8, 3),
    )
    cyclegan.save(tmp_path / "cyclegan.keras")
    status, stdout, _ = run_cli(
        "export",
        "--model",
        str(tmp_path / "cyclegan.keras"),
        "--out",
        str(tmp_path / "out"),
        "--direction",
        "BA",
    )
    assert status == 0, stdout
    path = tmp_path / "out" / f"{cyclegan.name}_ba" / "1"
    sample = np.random.default_rng(0).integers(0, 256, (2, 6, 9, 3), dtype=np.uint8)
    assert verify_export(str(path), cyclegan.generator_ba, sample)["passed"]
    assert not verify_export(str(path), cyclegan.generator_ab, sample)["passed"]

    # A noise generator: noise -> images, and seeds -> PNGs.
    generator = MLPGenerator(latent_dim=8, hidden_units=(8,), image_shape=(6, 5, 1))
    result = export_generator(generator, tmp_path / "out", name="digits")
    assert result.kind == "noise"
    checks = verify_export(result.path, generator, np.ones((3, 8), np.float32))
    assert checks["passed"], checks
    loaded = tf.saved_model.load(result.path)
    pngs = loaded.signatures["serve_bytes"](seed=tf.constant([1, 1, 2], tf.int64))["image_bytes"]
    images = [unpng(data) for data in pngs.numpy()]
    assert images[0].shape == (6, 5)
    assert np.array_equal(images[0], images[1]) and not np.array_equal(images[0], images[2])
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"`noise` must be \(batch, 8\)"):
        loaded.signatures["serving_default"](noise=tf.zeros((2, 7)))


@pytest.mark.slow
def test_signatures_served_in_a_fresh_tensorflow_only_process(exports, tmp_path):
    """Every signature, called as TF Serving calls it, in a process without our package,
    against the Keras generator; REST bodies built and decoded as TF Serving does."""
    rng = np.random.default_rng(7)
    image_generator, style_generator = exports["image_generator"], exports["style_generator"]
    jobs, expected = [], {}

    def save(name, array):
        path = str(tmp_path / f"{name}.npy")
        np.save(path, array)
        return path

    def call(call_id, model, signature, **inputs):
        jobs.append(
            {
                "id": call_id,
                "model": exports[model],
                "signature": signature,
                "inputs": {k: save(f"{call_id}_{k}", v) for k, v in inputs.items()},
            }
        )

    def rest(call_id, model, body):
        path = tmp_path / f"{call_id}.json"
        path.write_text(json.dumps(body))
        jobs.append({"id": call_id, "model": exports[model], "rest_body": str(path)})

    # Single-style model (stride 4): sizes that are not multiples of 4, and a 1x1 image.
    images = rng.integers(0, 256, (2, 13, 18, 3), dtype=np.uint8)
    floats = images.astype(np.float32) / 127.5 - 1
    expected["float"] = reference_outputs(image_generator, floats)
    # The same as the package's Python inference.
    np.testing.assert_allclose(
        np.stack(stylize(image_generator, list(images))), expected["float"], atol=1e-5
    )
    call("float", "image_dir", "serving_default", images=floats)
    call("uint8", "image_dir", "serve_uint8", images=images)
    # Too small to reflect, and below the ResNet's 8-pixel minimum: edge-padded to 8x8. (A 1x1
    # image pads to a constant 8x8 one, where instance norm divides ~0 by ~0; 3x2 is not flat.)
    tiny = rng.uniform(-1, 1, (1, 3, 2, 3)).astype(np.float32)
    expected["tiny"] = reference_outputs(image_generator, tiny)
    call("tiny", "image_dir", "serving_default", images=tiny)
    # REST: a PNG, a JPEG and a PNG with transparency (alpha 0 or 255: composited on white).
    rgba = np.concatenate([images[1, :9, :11], np.zeros((9, 11, 1), np.uint8) + 255], axis=-1)
    rgba[::2, :, 3] = 0
    jpeg = io.BytesIO()
    Image.fromarray(images[1]).save(jpeg, format="JPEG", quality=90)
    rest(
        "rest",
        "image_dir",
        {
            "signature_name": "serve_bytes",
            "instances": [b64(png(images[0])), b64(jpeg.getvalue()), b64(png(rgba))],
        },
    )
    composited = np.where(rgba[..., 3:] == 255, rgba[..., :3], 255).astype(np.uint8)
    decoded_jpeg = tf.io.decode_jpeg(jpeg.getvalue(), channels=3).numpy()
    expected["rest"] = [
        to_uint8(reference_outputs(image_generator, image[None] / 127.5 - 1))[0]
        for image in (images[0], decoded_jpeg, composited)
    ]
    # Bad requests.
    call("rank", "image_dir", "serving_default", images=floats[0])
    call("channels", "image_dir", "serve_uint8", images=np.zeros((1, 8, 8, 4), np.uint8))
    call("range", "image_dir", "serving_default", images=floats * 3)
    rest(
        "garbage",
        "image_dir",
        {"signature_name": "serve_bytes", "instances": [b64(png(images[0])), b64(b"not an image")]},
    )

    # Multi-style model: style index and strength per image; blends; fixed-style signatures.
    style_images = rng.integers(0, 256, (2, 10, 7, 3), dtype=np.uint8)
    style_floats = style_images.astype(np.float32) / 127.5 - 1
    eye = np.eye(3, dtype=np.float32)
    expected["style"] = np.concatenate(
        [
            reference_outputs(style_generator, style_floats[:1], eye[1], 0.6),
            reference_outputs(style_generator, style_floats[1:], eye[0], 1.0),
        ]
    )
    call(
        "style",
        "style_dir",
        "serving_default",
        images=style_floats,
        style=np.array([1, 0], np.int32),
        strength=np.array([0.6, 1.0], np.float32),
    )
    call(
        "strength0",
        "style_dir",
        "serve_uint8",
        images=style_images,
        style=np.int32(1),
        strength=np.float32(0),
    )
    blend = np.array([[0.25, 0.75, 0.0]] * 2, np.float32)
    expected["blend"] = reference_outputs(style_generator, style_floats, blend[0], 0.8)
    call(
        "blend",
        "style_dir",
        "serve_blend",
        images=style_floats,
        style_weights=blend * 4,
        strength=np.float32(0.8),
    )
    rest(
        "style_rest",
        "style_dir",
        {
            "signature_name": "serve_bytes",
            "instances": [
                {"image_bytes": b64(png(style_images[0])), "style": 0, "strength": 0.5},
                {"image_bytes": b64(png(style_images[1])), "style": 1, "strength": 1.0},
            ],
        },
    )
    expected["style_rest"] = [
        to_uint8(reference_outputs(style_generator, style_floats[:1], eye[0], 0.5))[0],
        to_uint8(reference_outputs(style_generator, style_floats[1:], eye[1], 1.0))[0],
    ]
    rest(
        "cartoon",
        "style_dir",
        {"signature_name": "serve_bytes_cartoon", "instances": [b64(png(style_images[0]))]},
    )
    expected["cartoon"] = to_uint8(
        reference_outputs(style_generator, style_floats[:1], eye[1], 1.0)
    )[0]
    call(
        "bad_style",
        "style_dir",
        "serving_default",
        images=style_floats,
        style=np.int32(5),
        strength=np.float32(1),
    )
    call(
        "bad_strength",
        "style_dir",
        "serve_uint8",
        images=style_images,
        style=np.int32(0),
        strength=np.float32(1.5),
    )
    call(
        "bad_weights",
        "style_dir",
        "serve_blend",
        images=style_floats,
        style_weights=eye[:2, :2],
        strength=np.float32(1),
    )

    job = tmp_path / "job.json"
    job.write_text(json.dumps(jobs))
    out = tmp_path / "served"
    out.mkdir()
    process = subprocess.run(
        [sys.executable, os.path.join(HERE, "serving_check.py"), str(job), str(out)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    assert process.returncode == 0, process.stderr[-3000:]
    modules = json.loads((out / "modules.json").read_text())
    assert modules["keras_styletransfer"] is False

    def output(call_id, name="images"):
        return np.load(out / f"{call_id}.{name}.npy")

    def response_pngs(call_id):
        predictions = json.loads((out / f"{call_id}.response.json").read_text())["predictions"]
        return [unpng(base64.b64decode(p["b64"])) for p in predictions]

    def error(call_id):
        entry = json.loads((out / f"{call_id}.error.json").read_text())
        assert entry["type"] == "InvalidArgumentError"
        return entry["message"]

    # Float paths within 1e-5; uint8 / PNG paths within one level (a 1e-7 float difference
    # can cross a rounding boundary).
    assert output("float").shape == (2, 13, 18, 3)
    assert np.abs(output("float") - expected["float"]).max() < 1e-5
    assert np.abs(output("uint8").astype(int) - to_uint8(expected["float"])).max() <= 1
    assert output("tiny").shape == (1, 3, 2, 3)
    assert np.abs(output("tiny") - expected["tiny"]).max() < 1e-5
    served = response_pngs("rest")
    assert [s.shape for s in served] == [(13, 18, 3), (13, 18, 3), (9, 11, 3)]
    for got, want in zip(served, expected["rest"], strict=True):
        assert np.abs(got.astype(int) - want).max() <= 1
    assert np.abs(output("style") - expected["style"]).max() < 1e-5
    assert np.array_equal(output("strength0"), style_images)  # strength 0: the photo itself
    assert np.abs(output("blend") - expected["blend"]).max() < 1e-5
    for got, want in zip(response_pngs("style_rest"), expected["style_rest"], strict=True):
        assert np.abs(got.astype(int) - want).max() <= 1
    assert np.abs(response_pngs("cartoon")[0].astype(int) - expected["cartoon"]).max() <= 1

    assert (
        "`images` must be a 4-D batch (batch, height, width, 3); received a tensor of shape] "
        "[13 18 3]" in error("rank")
    )
    assert "must have 3 channel(s) in the last axis" in error("channels")
    assert "[1 8 8 4]" in error("channels")
    assert "float images must be finite and in [-1, 1]" in error("range")
    assert re.search(
        r"serve_bytes: element\] \[1\] \[of `image_bytes` is not a PNG, JPEG, GIF or BMP",
        error("garbage"),
    )
    assert "`style` must be a style index in [0, 3) (0=pencil, 1=cartoon, 2=photo)" in error(
        "bad_style"
    )
    assert "`strength` must be in [0, 1]" in error("bad_strength")
    assert "`style_weights` must be (batch, 3)" in error("bad_weights")


@pytest.mark.slow
def test_saved_model_cli_lists_the_signatures(exports):
    command = os.path.join(os.path.dirname(sys.executable), "saved_model_cli")
    process = subprocess.run(
        [command, "show", "--all", "--dir", exports["style_dir"]],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    assert process.returncode == 0, process.stderr[-2000:]
    # Parse "signature_def['NAME']:" blocks and their "inputs['X'] tensor_info: dtype: DT_..."
    signatures = {}
    for block in re.split(r"\nsignature_def\['", process.stdout)[1:]:
        name = block.split("'", 1)[0]
        inputs_text, _, outputs_text = block.partition(
            "The given SavedModel SignatureDef contains the following output(s):"
        )
        signatures[name] = {
            "inputs": dict(
                re.findall(r"inputs\['(\w+)'\] tensor_info:\s+dtype: (DT_\w+)", inputs_text)
            ),
            "outputs": dict(
                re.findall(r"outputs\['(\w+)'\] tensor_info:\s+dtype: (DT_\w+)", outputs_text)
            ),
        }
    assert signatures["serving_default"] == {
        "inputs": {"images": "DT_FLOAT", "style": "DT_INT32", "strength": "DT_FLOAT"},
        "outputs": {"images": "DT_FLOAT"},
    }
    assert signatures["serve_uint8"]["inputs"]["images"] == "DT_UINT8"
    assert signatures["serve_uint8"]["outputs"] == {"images": "DT_UINT8"}
    assert signatures["serve_bytes"]["inputs"] == {
        "image_bytes": "DT_STRING",
        "style": "DT_INT32",
        "strength": "DT_FLOAT",
    }
    assert signatures["serve_bytes"]["outputs"] == {"image_bytes": "DT_STRING"}
    assert signatures["serve_blend"]["inputs"]["style_weights"] == "DT_FLOAT"
    assert signatures["serve_bytes_cartoon"] == {
        "inputs": {"image_bytes": "DT_STRING"},
        "outputs": {"image_bytes": "DT_STRING"},
    }
