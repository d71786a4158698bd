"""A corpus of bad input, made by the tests, across every entry point: each is refused with one
clear line (CLI: exit status 2, no traceback; Python: an InputError; exported signatures: an
InvalidArgumentError naming the signature), never a crash, a traceback or a garbage output.

The models are tiny and saved once per module; rows that train or export are marked slow.
"""

import contextlib
import io
import os
import struct
import zlib

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from keras_styletransfer.cli.main import main
from keras_styletransfer.errors import InputError
from tests.testing import tiny_wrapper


def _png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def declared_png(width, height):
    """A PNG of a few hundred bytes declaring width x height (one row of data)."""
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(b"\x00" * (min(width, 4096) + 1)))
        + _png_chunk(b"IEND", b"")
    )


def _encoded(array, image_format):
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format=image_format)
    return buffer.getvalue()


def _poisoned(model):
    """`model` with one generator kernel set to NaN (a diverged run)."""
    for variable in model.primary_generator().weights:
        if "kernel" in variable.path:
            variable.assign(np.full(variable.shape, np.nan, "float32"))
            return model
    raise AssertionError("no kernel")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """Tiny saved models and bad files, made once: name -> path."""
    root = tmp_path_factory.mktemp("corpus")
    paths = {}
    for family in ("gan", "pix2pix", "multistyle"):
        model = tiny_wrapper(family, seed=1)
        model.compile()
        paths[family] = str(root / f"{family}.keras")
        model.save(paths[family])
        paths[f"nan_{family}"] = str(root / f"nan_{family}.keras")
        _poisoned(model).save(paths[f"nan_{family}"])
    photo = np.random.default_rng(0).integers(0, 256, (20, 24, 3), dtype=np.uint8)
    files = {
        "photo": _encoded(photo, "PNG"),
        "tiff_as_png": _encoded(photo, "TIFF"),
        "huge_png": declared_png(20000, 20000),
        "empty_png": b"",
        "text_keras": b"not a model at all",
        "truncated_jpeg": _encoded(photo, "JPEG")[:200],
    }
    crc = bytearray(files["photo"])
    crc[crc.find(b"IDAT") + 4] ^= 0xFF
    files["bad_crc_png"] = bytes(crc)
    suffix = {"text_keras": ".keras", "truncated_jpeg": ".jpg"}
    for name, data in files.items():
        paths[name] = str(root / f"{name}{suffix.get(name, '.png')}")
        with open(paths[name], "wb") as file:
            file.write(data)
    folder = root / "tiffs"
    folder.mkdir()
    (folder / "a.png").write_bytes(files["tiff_as_png"])
    paths["tiff_folder"] = str(folder)
    paths["notes"] = str(root / "notes.txt")
    with open(paths["notes"], "w") as file:
        file.write("hello")
    paths["root"] = str(root)
    return paths


def run_cli(argv):
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        try:
            status = main(argv)
        except SystemExit as exit:  # argparse's own refusals
            status = exit.code
    return status, stdout.getvalue(), stderr.getvalue()


def out(corpus, name="out"):
    return os.path.join(corpus["root"], "outputs", name)


def _stylize_input(name):
    return lambda c: ["stylize", "--model", c["pix2pix"], "--out", out(c), c[name]]


def _explain(model, *options):
    return lambda c: ["explain", "--model", c[model], "--out", out(c, "x"), *options, c["photo"]]


# (id, argv built from the corpus, a fragment of the one error line, slow)
CLI_ROWS = [
    # train
    ("train-unknown-preset", lambda c: ["train", "--preset", "nope"], "unknown preset", False),
    (
        "train-missing-data",
        lambda c: ["train", "--preset", "mnist_dcgan", "--data", c["root"] + "/none"],
        "not found",
        False,
    ),
    (
        "train-data-text-file",
        lambda c: ["train", "--preset", "mnist_dcgan", "--data", c["notes"]],
        ".npy or .npz",
        False,
    ),
    (
        "train-negative-seed",
        lambda c: ["train", "--preset", "mnist_dcgan", "--seed", "-1"],
        "--seed",
        False,
    ),
    (
        "train-absurd-epochs",
        lambda c: ["train", "--preset", "mnist_dcgan", "--epochs", "100000000000000000000"],
        "--epochs",
        False,
    ),
    (
        "train-folder-of-tiffs-named-png",
        lambda c: [
            "train",
            "--preset",
            "mnist_dcgan",
            "--data",
            c["tiff_folder"],
            "--epochs",
            "1",
            "--steps-per-epoch",
            "1",
            "--run-dir",
            out(c, "train_tiff"),
        ],
        "TIFF content",
        False,
    ),
    # train-style
    (
        "train-style-unknown-family",
        lambda c: ["train-style", "--family", "nope"],
        "unknown family",
        False,
    ),
    ("train-style-unknown-style", lambda c: ["train-style", "--styles", "nope"], "style", False),
    (
        "train-style-preset-of-another-family",
        lambda c: ["train-style", "--family", "cut", "--preset", "cyclegan_resnet6"],
        "--family cut takes: cut, cut_filter, cut_operators, cut_residual",
        False,
    ),
    (
        "train-style-unknown-preset",
        lambda c: ["train-style", "--family", "cut", "--preset", "cut_ops"],
        "unknown translation preset 'cut_ops'",
        False,
    ),
    (
        "train-style-size-33",
        lambda c: ["train-style", "--image-size", "33"],
        "multiple of 32",
        False,
    ),
    (
        "train-style-batch-beyond-memory",
        lambda c: ["train-style", "--image-size", "8192", "--batch-size", "64"],
        "use a smaller --batch-size",
        False,
    ),
    (
        "train-style-batch-absurd",
        lambda c: ["train-style", "--batch-size", "100000"],
        "batch size",
        False,
    ),
    # sample
    (
        "sample-a-billion",
        lambda c: ["sample", "--model", c["gan"], "--out", out(c, "s.png"), "--num", "1000000000"],
        "at most 10000",
        False,
    ),
    (
        "sample-nan-weights",
        lambda c: ["sample", "--model", c["nan_gan"], "--out", out(c, "s.png")],
        "non-finite weights",
        False,
    ),
    (
        "sample-wrong-family",
        lambda c: ["sample", "--model", c["pix2pix"], "--out", out(c, "s.png")],
        "needs a trained gan",
        False,
    ),
    (
        "sample-missing-model",
        lambda c: ["sample", "--model", c["root"] + "/none.keras", "--out", out(c, "s.png")],
        "not found",
        False,
    ),
    (
        "sample-model-not-an-archive",
        lambda c: ["sample", "--model", c["text_keras"], "--out", out(c, "s.png")],
        "not a Keras model archive",
        False,
    ),
    # stylize
    *[
        (
            f"stylize-{name}",
            _stylize_input(name),
            fragment,
            False,
        )
        for name, fragment in (
            ("tiff_as_png", "TIFF content"),
            ("bad_crc_png", "damaged PNG"),
            ("huge_png", "20000x20000 = 400000000 pixels, over the limit"),
            ("empty_png", "an empty file"),
            ("truncated_jpeg", "damaged JPEG"),
            ("tiff_folder", "TIFF content"),
        )
    ],
    (
        "stylize-nan-weights",
        lambda c: ["stylize", "--model", c["nan_pix2pix"], "--out", out(c), c["photo"]],
        "non-finite weights",
        False,
    ),
    (
        "stylize-noise-gan",
        lambda c: ["stylize", "--model", c["gan"], "--out", out(c), c["photo"]],
        "noise GAN",
        False,
    ),
    (
        "stylize-missing-input",
        lambda c: ["stylize", "--model", c["pix2pix"], "--out", out(c), c["root"] + "/none.png"],
        "neither a file nor a folder",
        False,
    ),
    (
        "stylize-strength-2",
        lambda c: [
            "stylize",
            "--model",
            c["pix2pix"],
            "--out",
            out(c),
            "--strength",
            "2",
            c["photo"],
        ],
        "strength",
        False,
    ),
    (
        "stylize-multistyle-without-style",
        lambda c: ["stylize", "--model", c["multistyle"], "--out", out(c), c["photo"]],
        "choose one",
        False,
    ),
    (
        "stylize-overflowing-blend",
        lambda c: [
            "stylize",
            "--model",
            c["multistyle"],
            "--out",
            out(c),
            "--blend",
            "ink=1e308,oil=1e308",
            c["photo"],
        ],
        "too large to add up",
        False,
    ),
    (
        "stylize-unknown-style",
        lambda c: [
            "stylize",
            "--model",
            c["multistyle"],
            "--out",
            out(c),
            "--style",
            "x",
            c["photo"],
        ],
        "unknown style",
        False,
    ),
    (
        "stylize-batch-0",
        lambda c: [
            "stylize",
            "--model",
            c["pix2pix"],
            "--out",
            out(c),
            "--batch-size",
            "0",
            c["photo"],
        ],
        "--batch-size",
        False,
    ),
    # evaluate
    (
        "evaluate-missing-model",
        lambda c: ["evaluate", "--model", c["root"] + "/x.keras"],
        "not found",
        False,
    ),
    (
        "evaluate-no-run-config",
        lambda c: ["evaluate", "--model", c["pix2pix"]],
        "config.json",
        False,
    ),
    # explain
    *[
        (
            f"explain-{label}",
            _explain(*argv),
            fragment,
            False,
        )
        for label, argv, fragment in (
            ("size-33", ("pix2pix", "--size", "33"), "multiples of 4"),
            ("size-0", ("pix2pix", "--size", "0"), "--size"),
            ("size-negative", ("pix2pix", "--size", "-8"), "--size"),
            ("size-2048", ("pix2pix", "--size", "2048"), "up to 1024"),
            ("nan-weights", ("nan_pix2pix",), "non-finite weights"),
            ("noise-gan", ("gan",), "needs a trained pix2pix"),
            ("unknown-method", ("pix2pix", "--method", "nope"), "Valid methods"),
        )
    ],
    (
        "explain-tiff-input",
        lambda c: ["explain", "--model", c["pix2pix"], "--out", out(c, "x"), c["tiff_as_png"]],
        "TIFF content",
        False,
    ),
    # export
    (
        "export-nan-weights",
        lambda c: ["export", "--model", c["nan_pix2pix"], "--out", out(c, "e")],
        "non-finite weights",
        False,
    ),
    (
        "export-not-an-archive",
        lambda c: ["export", "--model", c["text_keras"], "--out", out(c, "e")],
        "not a Keras model archive",
        False,
    ),
    (
        "export-max-pixels-0",
        lambda c: ["export", "--model", c["pix2pix"], "--out", out(c, "e"), "--max-pixels", "0"],
        "--max-pixels",
        False,
    ),
    # fine-tune
    (
        "fine-tune-nan-weights",
        lambda c: [
            "fine-tune",
            "--model",
            c["nan_pix2pix"],
            "--style",
            "pencil",
            "--out",
            out(c, "f"),
        ],
        "non-finite weights",
        False,
    ),
    (
        "fine-tune-noise-gan",
        lambda c: ["fine-tune", "--model", c["gan"], "--style", "pencil", "--out", out(c, "f")],
        "fine-tune takes a pix2pix, CycleGAN, CUT or FastCUT model",
        False,
    ),
    (
        "fine-tune-bad-policy",
        lambda c: [
            "fine-tune",
            "--model",
            c["pix2pix"],
            "--style",
            "pencil",
            "--train",
            "nope",
            "--out",
            out(c, "f"),
        ],
        "nope",
        False,
    ),
    # fuse
    (
        "fuse-unknown-mode",
        lambda c: ["fuse", "--models", c["pix2pix"], "--mode", "nope", "--out", out(c, "f.keras")],
        "unknown mode",
        False,
    ),
    (
        "fuse-nan-weights",
        lambda c: ["fuse", "--models", c["nan_pix2pix"], c["pix2pix"], "--out", out(c, "f.keras")],
        "non-finite weights",
        False,
    ),
    (
        "fuse-overflowing-blend",
        lambda c: [
            "fuse",
            "--models",
            c["multistyle"],
            "--mode",
            "blend",
            "--weights",
            "ink=1e308,oil=1e308",
            "--out",
            out(c, "f.keras"),
        ],
        "too large to add up",
        False,
    ),
    # demo, presets
    ("demo-epochs-0", lambda c: ["demo", "--epochs", "0"], "--epochs", False),
    ("presets-extra-argument", lambda c: ["presets", "extra"], "unrecognized arguments", False),
]


@pytest.mark.parametrize(
    ("build", "fragment"),
    [
        pytest.param(build, fragment, id=name, marks=[pytest.mark.slow] if slow else [])
        for name, build, fragment, slow in CLI_ROWS
    ],
)
def test_bad_command_line_input_is_one_clear_line(corpus, build, fragment):
    status, stdout, stderr = run_cli(build(corpus))
    assert status == 2, (status, stdout, stderr)
    assert "Traceback" not in stderr + stdout
    lines = stderr.strip().splitlines()
    if lines and lines[0].startswith("usage:"):  # argparse: its usage, then one error line
        lines = lines[-1:]
    assert len(lines) == 1, stderr
    assert "error:" in lines[0] and fragment in lines[0], lines[0]


# --- Python entry points --------------------------------------------------------------------


def _python_rows():
    from keras_styletransfer import export_generator, load_trained, stylize
    from keras_styletransfer.serving.inference import Stylizer, read_image_file

    def generator(corpus, name="pix2pix"):
        return load_trained(corpus[name]).primary_generator()

    image = np.zeros((8, 8, 3), np.uint8)
    return [
        (
            "stylize-nan-weights",
            lambda c: stylize(generator(c, "nan_pix2pix"), image),
            "non-finite weights",
        ),
        (
            "stylize-5d-image",
            lambda c: stylize(generator(c), np.zeros((1, 1, 8, 8, 3))),
            "must be (H, W)",
        ),
        (
            "stylize-wrong-channels",
            lambda c: stylize(generator(c), np.zeros((8, 8, 5))),
            "channels",
        ),
        ("stylizer-batch-0", lambda c: Stylizer(generator(c), batch_size=0), "batch_size"),
        (
            "stylize-style-for-one-style",
            lambda c: stylize(generator(c), image, style="ink"),
            "one style",
        ),
        (
            "export-nan-weights",
            lambda c: export_generator(c["nan_pix2pix"], out(c, "pe")),
            "non-finite weights",
        ),
        (
            "export-max-pixels-0",
            lambda c: export_generator(c["pix2pix"], out(c, "pe0"), max_pixels=0),
            "max_pixels",
        ),
        ("load-trained-text", lambda c: load_trained(c["text_keras"]), "not a Keras model archive"),
        ("load-trained-number", lambda c: load_trained(123), "expected a keras.Model"),
        ("load-trained-folder", lambda c: load_trained(c["root"]), "is a folder"),
        ("read-image-tiff", lambda c: read_image_file(c["tiff_as_png"]), "TIFF content"),
        ("read-image-huge", lambda c: read_image_file(c["huge_png"]), "over the limit"),
    ]


def test_non_finite_outputs_are_an_error_not_a_black_image():
    import keras

    from keras_styletransfer import stylize

    images = keras.Input((None, None, 3))
    generator = keras.Model(images, keras.layers.Lambda(lambda x: tf.math.log(x - 2.0))(images))
    with pytest.raises(InputError, match="produced non-finite values"):
        stylize(generator, np.zeros((8, 8, 3), np.uint8))


def test_work_beyond_the_machines_memory_is_refused_before_it_starts(monkeypatch):
    import keras

    from keras_styletransfer import stylize, validation

    monkeypatch.setattr(validation, "physical_memory_bytes", lambda: 32 * 2**20)
    images = keras.Input((None, None, 3))
    generator = keras.Model(images, keras.layers.Activation("tanh")(images))
    with pytest.raises(InputError, match=r"more than this machine's 0.0 GiB.*downscale it first"):
        stylize(generator, np.zeros((1000, 1000, 3), np.uint8))
    stylize(generator, np.zeros((100, 100, 3), np.uint8))  # what fits still runs


@pytest.mark.parametrize("row", range(len(_python_rows())), ids=[r[0] for r in _python_rows()])
def test_bad_python_input_is_one_input_error(corpus, row):
    _, call, fragment = _python_rows()[row]
    with pytest.raises(InputError) as raised:
        call(corpus)
    message = str(raised.value)
    assert "\n" not in message and fragment in message, message


# --- the exported signatures ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def exported(corpus):
    from keras_styletransfer import export_generator

    return {
        family: tf.saved_model.load(
            export_generator(corpus[family], out(corpus, f"export_{family}"), max_pixels=4096).path
        )
        for family in ("gan", "pix2pix", "multistyle")
    }


SIGNATURE_ROWS = [
    (
        "serve-bytes-huge-declared-png",
        "pix2pix",
        "serve_bytes",
        lambda: {"image_bytes": tf.constant([declared_png(20000, 20000)])},
        "at most 4096 pixels",
    ),
    (
        "serve-bytes-tiff",
        "pix2pix",
        "serve_bytes",
        lambda: {"image_bytes": tf.constant([_encoded(np.zeros((4, 4, 3), np.uint8), "TIFF")])},
        "is not a PNG, JPEG, GIF or BMP image",
    ),
    (
        "serving-default-nan-image",
        "pix2pix",
        "serving_default",
        lambda: {"images": tf.fill([1, 8, 8, 3], float("nan"))},
        "must be finite",
    ),
    (
        "noise-serving-default-nan",
        "gan",
        "serving_default",
        lambda: {"noise": tf.fill([2, 4], float("nan"))},
        "`noise` must be finite",
    ),
    (
        "noise-serve-uint8-nan",
        "gan",
        "serve_uint8",
        lambda: {"noise": tf.constant([[0.0, float("nan"), 0.0, 0.0]])},
        "`noise` must be finite",
    ),
    (
        "serve-blend-3e38",
        "multistyle",
        "serve_blend",
        lambda: {
            "images": tf.zeros([1, 8, 8, 3]),
            "style_weights": tf.constant([[3e38, 3e38, 0.0]]),
            "strength": tf.constant(1.0),
        },
        "too large to add up",
    ),
    (
        "serve-uint8-nan-strength",
        "multistyle",
        "serve_uint8",
        lambda: {
            "images": tf.zeros([1, 8, 8, 3], tf.uint8),
            "style": tf.constant(0),
            "strength": tf.constant(float("nan")),
        },
        "`strength` must be in [0, 1]",
    ),
]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("family", "signature", "inputs", "fragment"),
    [pytest.param(*row[1:], id=row[0]) for row in SIGNATURE_ROWS],
)
def test_bad_requests_fail_the_one_request_with_a_clear_message(
    exported, family, signature, inputs, fragment
):
    with pytest.raises(tf.errors.InvalidArgumentError) as raised:
        exported[family].signatures[signature](**inputs())
    assert fragment in str(raised.value) and signature in str(raised.value)


def test_the_corpus_holds_at_least_forty_kinds_across_every_entry_point():
    commands = {name.split("-")[0] for name, _, _, _ in CLI_ROWS}
    assert {
        "train",
        "sample",
        "stylize",
        "evaluate",
        "explain",
        "export",
        "fine",
        "fuse",
        "demo",
        "presets",
    } <= commands
    assert len(CLI_ROWS) + len(_python_rows()) + len(SIGNATURE_ROWS) >= 40
