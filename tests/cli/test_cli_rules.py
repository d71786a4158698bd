"""What every command shares: no TensorFlow before the arguments are valid, one style rule in
stylize / export / fuse, one loader's refusals, and exports that another user can read."""

import contextlib
import io
import json
import os
import stat
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from keras_styletransfer.cli import main
from keras_styletransfer.errors import InputError
from keras_styletransfer.models.discriminators import MLPDiscriminator
from keras_styletransfer.models.gan import GAN
from keras_styletransfer.models.generators import MLPGenerator, StyleGenerator
from keras_styletransfer.models.multistyle import MultiStyleGAN
from keras_styletransfer.serving.export import export_generator
from keras_styletransfer.serving.inference import stylize
from keras_styletransfer.validation import style_weights

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# Parsed and answered by the console entry without TensorFlow: (argv, what stderr/stdout says).
WITHOUT_TENSORFLOW = [
    (["--help"], "usage: keras-styletransfer"),
    (["export", "--help"], "--max-pixels"),
    (["presets"], "mnist_dcgan"),
    (["train", "--preset", "doc009"], "unknown preset 'doc009'"),
    (["train", "--preset", "mnist_dcgan", "--batch-size", "0"], "--batch-size"),
    (["train-style", "--family", "nope"], "unknown family 'nope'"),
    (["stylize", "--model", "m.keras", "--strength", "2", "--out", "o", "a.png"], "strength"),
    (["stylize", "--model", "m.keras", "--blend", "a=b", "--out", "o", "a.png"], "--blend"),
    (["stylize", "--model", "m.keras", "--style", "a", "--blend", "a=1", "--out", "o", "x"], "not"),
    (["fuse", "--models", "a.keras", "--mode", "nope", "--out", "x.keras"], "unknown mode"),
    (["explain", "--model", "m.keras", "--method", "nope", "--out", "o", "a"], "Valid methods"),
    (["explain", "--model", "m.keras", "--target", "nope", "--out", "o", "a"], "Valid targets"),
    (["export", "--model", "m.keras", "--out", "o", "--max-pixels", "0"], "--max-pixels"),
    (["export", "--model", "m.keras", "--out", "o", "--styles", "a,,b"], "--styles"),
    (["sample", "--model", "m.keras", "--out", "grid.jpg"], ".png"),
]

PROBE = """
import contextlib, io, json, sys
import keras_styletransfer_cli
out, err = io.StringIO(), io.StringIO()
with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
    try:
        status = keras_styletransfer_cli.main(sys.argv[1:])
    except SystemExit as exit:
        status = exit.code
print(json.dumps({"status": status, "text": out.getvalue() + err.getvalue(),
                  "tensorflow": "tensorflow" in sys.modules}))
"""


def test_help_presets_and_argument_errors_answer_without_importing_tensorflow():
    # One process per command line: TensorFlow must not be loaded by any of them.
    for argv, expected in WITHOUT_TENSORFLOW:
        process = subprocess.run(
            [sys.executable, "-c", PROBE, *argv],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=ROOT,
            env={k: v for k, v in os.environ.items() if k != "KERAS_STYLETRANSFER_LAZY"},
        )
        assert process.returncode == 0, process.stderr
        result = json.loads(process.stdout.strip().splitlines()[-1])
        assert not result["tensorflow"], argv
        assert expected in result["text"], (argv, result["text"])
        assert result["status"] in (0, 2), (argv, result)
        if argv[-1] != "--help" and argv != ["presets"]:
            assert result["status"] == 2, (argv, result)


def run_cli(*args):
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        status = main(list(args))
    return status, stdout.getvalue(), stderr.getvalue()


def two_headed_discriminator(domains):
    images = keras.Input((None, None, 3), name="image")
    x = keras.layers.Conv2D(4, 4, strides=2, padding="same", activation="relu")(images)
    x = keras.layers.GlobalAveragePooling2D()(x)
    return keras.Model(images, [keras.layers.Dense(1)(x), keras.layers.Dense(domains)(x)])


@pytest.fixture(scope="module")
def multistyle(tmp_path_factory):
    root = tmp_path_factory.mktemp("rules")
    keras.utils.set_random_seed(5)
    model = MultiStyleGAN(
        StyleGenerator(num_styles=3, filters=4, num_residual_blocks=1),
        two_headed_discriminator(domains=3),
        ["pencil", "cartoon"],
    )
    path = str(root / "multistyle.keras")
    model.save(path)
    image = np.random.default_rng(0).integers(0, 256, (12, 12, 3), dtype=np.uint8)
    Image.fromarray(image).save(root / "photo.png")
    return root, path, model, image


BLENDS = {
    "equal": ("pencil=1,cartoon=1", {"pencil": 1.0, "cartoon": 1.0}),
    "huge": ("pencil=1e308,cartoon=1e308", {"pencil": 1e308, "cartoon": 1e308}),
}


def test_one_blend_rule_in_stylize_export_and_fuse(multistyle, tmp_path):
    root, path, model, image = multistyle
    generator, names = model.primary_generator(), model.generator_style_names
    half = style_weights({"pencil": 0.5, "cartoon": 0.5}, names)
    expected = stylize(
        generator, image, style=dict(zip(names, half, strict=True)), style_names=names
    )[0]

    # a=1,b=1 is the same as a=0.5,b=0.5 everywhere.
    equal_text, equal = BLENDS["equal"]
    equal_output = stylize(generator, image, style=equal, style_names=names)[0]
    np.testing.assert_allclose(equal_output, expected, atol=1e-6)
    status, _, stderr = run_cli(
        "stylize", "--model", path, "--blend", equal_text, "--out", str(tmp_path / "s"),
        str(root / "photo.png"),
    )  # fmt: skip
    assert status == 0, stderr
    status, _, stderr = run_cli(
        "fuse", "--models", path, "--mode", "blend", "--weights", equal_text,
        "--out", str(tmp_path / "fused.keras"),
    )  # fmt: skip
    assert status == 0, stderr
    fused = keras.saving.load_model(str(tmp_path / "fused.keras"))
    floats = (image / 127.5 - 1.0).astype(np.float32)[None]
    np.testing.assert_allclose(np.asarray(fused(floats))[0], expected, atol=1e-5)
    exported = export_generator(model, tmp_path / "exported")
    serve_blend = tf.saved_model.load(exported.path).signatures["serve_blend"]
    got = serve_blend(
        images=tf.constant(floats), style_weights=tf.constant([[1.0, 1.0, 0.0]]), strength=1.0
    )["images"]
    np.testing.assert_allclose(got.numpy()[0], expected, atol=1e-5)

    # Weights whose sum overflows are refused by all, with the same words.
    huge_text, huge = BLENDS["huge"]
    message = "style weights are too large to add up"
    with pytest.raises(InputError, match=message):
        stylize(generator, image, style=huge, style_names=names)
    status, _, stderr = run_cli(
        "stylize", "--model", path, "--blend", huge_text, "--out", str(tmp_path / "s2"),
        str(root / "photo.png"),
    )  # fmt: skip
    assert status == 2 and message in stderr, stderr
    status, _, stderr = run_cli(
        "fuse", "--models", path, "--mode", "blend", "--weights", huge_text,
        "--out", str(tmp_path / "fused2.keras"),
    )  # fmt: skip
    assert status == 2 and message in stderr, stderr
    # float32 requests cannot hold 1e308; 3e38 twice overflows float32 the same way.
    with pytest.raises(tf.errors.InvalidArgumentError, match=message):
        serve_blend(
            images=tf.constant(floats),
            style_weights=tf.constant([[3e38, 3e38, 0.0]]),
            strength=1.0,
        )
    with pytest.raises(tf.errors.InvalidArgumentError, match="finite and >= 0"):
        serve_blend(
            images=tf.constant(floats),
            style_weights=tf.constant([[float("inf"), 1.0, 0.0]]),
            strength=1.0,
        )


def test_stylize_and_explain_refuse_a_noise_gan_in_one_line(tmp_path):
    gan = GAN(
        MLPGenerator(latent_dim=4, hidden_units=(8,), image_shape=(4, 4, 1)),
        MLPDiscriminator(image_shape=(4, 4, 1), hidden_units=(8,)),
    )
    gan.save(tmp_path / "gan.keras")
    generator = keras.Sequential([keras.Input((None, None, 3)), keras.layers.Conv2D(3, 1)])
    generator.save(tmp_path / "generator.keras")
    image = tmp_path / "a.png"
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(image)
    out = str(tmp_path / "out")

    def one_line(status, stderr, *fragments):
        assert status == 2, stderr
        lines = [line for line in stderr.splitlines() if line.strip()]
        assert len(lines) == 1, stderr
        for fragment in fragments:
            assert fragment in lines[0], lines[0]

    status, _, stderr = run_cli("stylize", "--model", str(tmp_path / "gan.keras"), "--out", out,
                                str(image))  # fmt: skip
    one_line(status, stderr, "holds a noise GAN", "use `sample`")
    for name, kind in (("gan.keras", "GAN"), ("generator.keras", "Sequential")):
        status, _, stderr = run_cli("explain", "--model", str(tmp_path / name), "--out", out,
                                    str(image))  # fmt: skip
        one_line(status, stderr, "explain needs a trained", f"received a {kind}")


def test_export_folders_are_readable_by_other_users(tmp_path):
    generator = keras.Sequential(
        [keras.Input((None, None, 3)), keras.layers.Conv2D(3, 1)], name="painter"
    )
    previous = os.umask(0o077)  # a private umask must not make a private export
    try:
        result = export_generator(generator, tmp_path / "base" / "exported")
    finally:
        os.umask(previous)
    model_dir = os.path.dirname(result.path)
    folders = [tmp_path / "base", tmp_path / "base" / "exported", model_dir]
    files = []
    for top, names, file_names in os.walk(result.path):
        folders.append(top)
        folders.extend(os.path.join(top, name) for name in names)
        files.extend(os.path.join(top, name) for name in file_names)
    assert files and any(name.endswith("saved_model.pb") for name in files)
    for folder in folders:
        assert stat.S_IMODE(os.stat(folder).st_mode) == 0o755, folder
    for file in files:
        assert stat.S_IMODE(os.stat(file).st_mode) == 0o644, file
