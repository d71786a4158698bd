"""TFLite export: every generator kind runs in tf.lite.Interpreter and matches Keras within the
measured bound of its quantization; sizes shrink with quantization; the CLI writes the file and
its description; bad options are one-line errors."""

import contextlib
import io
import json
import os

import numpy as np
import pytest

from keras_styletransfer.cli.main import main
from keras_styletransfer.errors import InputError
from keras_styletransfer.kernels import portable_ops
from keras_styletransfer.serving.tflite import (
    MAX_DIFFERENCE,
    check_size,
    export_tflite,
    parse_size,
    tflite_runner,
    tflite_sample,
    verify_tflite,
)
from tests import testing

# Measured on these tiny networks (max |TFLite - Keras|): float32 <= 2e-5, float16 <= 3.4e-3,
# int8 <= 0.052 (mean <= 0.008). The asserted bounds leave 2-3x room.
BOUNDS = {"float32": (1e-4, 1e-5), "float16": (0.01, 1e-3), "int8": (0.15, 0.02)}


def run_cli(*args):
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        status = main(list(args))
    return status, stdout.getvalue(), stderr.getvalue()


def keras_output(generator, info, sample):
    if info["kind"] == "noise":
        return np.asarray(generator(sample["noise"]))
    if info["kind"] == "image":
        return np.asarray(generator(sample["images"]))
    inputs = {
        "image": sample["images"],
        "style": sample["style_weights"],
        "strength": sample["strength"][:, None],
    }
    return np.asarray(generator(inputs))


@pytest.mark.parametrize(
    ("case", "quantize"),
    [
        ("resnet", "float32"),
        ("resnet", "float16"),
        ("resnet", "int8"),
        ("style", "float32"),
        ("style", "int8"),
        ("fused", "float16"),
        ("noise", "float32"),
    ],
)
def test_tflite_matches_keras_within_the_bound_of_its_quantization(tmp_path, case, quantize):
    generator = {
        "resnet": testing.tiny_resnet,
        "style": lambda: testing.tiny_style_generator(3),
        "fused": testing._style_blend,
        "noise": lambda: testing.tiny_wrapper("gan").primary_generator(None),
    }[case]()
    result = export_tflite(generator, tmp_path / "g.tflite", quantize=quantize, size=(32, 48))
    info = json.loads((tmp_path / "g.json").read_text())
    assert info == result.info
    assert info["quantize"] == quantize and info["bytes"] == os.path.getsize(result.path)
    if case != "noise":
        assert info["size"] == {"height": 32, "width": 48}
    sample = tflite_sample(generator, info, seed=3)
    output = tflite_runner(result.path)(**sample)["images"]
    expected = keras_output(generator, info, sample)
    assert output.shape == expected.shape
    difference = np.abs(output - expected)
    max_bound, mean_bound = BOUNDS[quantize]
    assert difference.max() <= max_bound, difference.max()
    assert difference.mean() <= mean_bound, difference.mean()
    check = verify_tflite(result.path, generator, info, repeats=1)
    assert check["passed"] and check["limit"] == MAX_DIFFERENCE[quantize]
    assert check["tflite_ms"] > 0 and check["keras_ms"] > 0


def test_quantization_shrinks_the_file_and_int8_really_changes_the_weights(tmp_path):
    generator = testing.tiny_resnet()
    sizes, outputs = {}, {}
    for quantize in ("float32", "float16", "int8"):
        path = tmp_path / f"{quantize}.tflite"
        result = export_tflite(generator, path, quantize=quantize, size=64)
        sizes[quantize] = result.info["bytes"]
        sample = tflite_sample(generator, result.info)
        outputs[quantize] = tflite_runner(result.path)(**sample)["images"]
    assert sizes["int8"] < sizes["float16"] < sizes["float32"]
    # A quantized file that silently kept float32 weights would give identical outputs.
    assert np.abs(outputs["int8"] - outputs["float32"]).max() > 1e-4


def test_cyclegan_direction_exports_that_generator(tmp_path):
    model = testing.tiny_wrapper("cyclegan")
    result = export_tflite(model, tmp_path / "ba.tflite", quantize="float32", direction="BA")
    sample = tflite_sample(model.generator_ba, result.info)
    output = tflite_runner(result.path)(**sample)["images"]
    with portable_ops():  # the formula the exporter traced (in-process runs a fused kernel)
        expected = model.generator_ba(sample["images"])
    np.testing.assert_allclose(output, expected, atol=1e-4)
    assert np.abs(output - model.generator_ab(sample["images"])).max() > 1e-3


def test_size_and_option_errors_are_one_line(tmp_path):
    generator = testing.tiny_resnet()  # stride 4
    assert parse_size("256") == (256, 256) and parse_size("192x320") == (192, 320)
    with pytest.raises(InputError, match="multiples of 4"):
        check_size(generator, (30, 32))
    for bad in ("big", "0", "1x2x3"):
        with pytest.raises(InputError, match="not a size"):
            parse_size(bad)
    with pytest.raises(InputError, match="quantize='int4'"):
        export_tflite(generator, tmp_path / "g.tflite", quantize="int4")
    with pytest.raises(InputError, match=r"end in \.tflite"):
        export_tflite(generator, tmp_path / "g.lite")
    with pytest.raises(InputError, match="style names"):
        export_tflite(testing.tiny_style_generator(3), tmp_path / "s.tflite", style_names=["a"])
    assert not (tmp_path / "s.tflite").exists()
    export_tflite(generator, tmp_path / "g.tflite", size=16)
    with pytest.raises(InputError, match="already exists"):
        export_tflite(generator, tmp_path / "g.tflite", size=16)
    export_tflite(generator, tmp_path / "g.tflite", size=16, overwrite=True)


def test_cli_export_tflite_writes_file_description_and_verification(tmp_path):
    generator = testing.tiny_style_generator(2)
    model_file = str(tmp_path / "g.keras")
    generator.save(model_file)
    out = str(tmp_path / "exported")
    status, stdout, _ = run_cli(
        "export", "--format", "tflite", "--quantize", "int8", "--size", "32x16",
        "--model", model_file, "--out", out, "--styles", "ink,oil",
    )  # fmt: skip
    assert status == 0, stdout
    name = f"{generator.name}_int8"
    with open(os.path.join(out, f"{name}.json")) as file:
        info = json.load(file)
    assert info["style_names"] == ["ink", "oil"] and info["size"] == {"height": 32, "width": 16}
    assert os.path.getsize(os.path.join(out, f"{name}.tflite")) == info["bytes"]
    assert "verified in tf.lite.Interpreter" in stdout and " ok;" in stdout
    assert "ms per image" in stdout

    for args, fragment in [
        (("--quantize", "int8"), "--quantize applies to --format tflite only"),
        (("--format", "tflite", "--version", "2"), "--version applies to --format savedmodel"),
        (("--format", "tflite", "--size", "abc"), "not a size"),
        (("--format", "tflite", "--size", "30"), "multiples of 4"),
    ]:
        status, _, stderr = run_cli("export", "--model", model_file, "--out", out, *args)
        assert status == 2
        assert fragment in stderr and len(stderr.strip().splitlines()) == 1, stderr


@pytest.mark.slow
def test_shipped_model_in_every_quantization_matches_keras(tmp_path):
    """The figures in the README's "On-device" section (256x256, the shipped U-Net)."""
    from keras_styletransfer.serving.pretrained import load_pretrained

    generator, names = load_pretrained()
    bounds = {"float32": (1e-4, 1e-5), "float16": (0.01, 5e-4), "int8": (0.3, 0.015)}
    sizes = {}
    for quantize, (max_bound, mean_bound) in bounds.items():
        result = export_tflite(generator, tmp_path / f"{quantize}.tflite", quantize=quantize)
        assert result.info["style_names"] == names or result.info["style_names"][0] == "0"
        check = verify_tflite(result.path, generator, result.info, repeats=2)
        assert check["max_difference"] <= max_bound, check
        assert check["mean_difference"] <= mean_bound, check
        sizes[quantize] = result.info["bytes"]
    assert sizes["int8"] < 0.3 * sizes["float32"] and sizes["float16"] < 0.55 * sizes["float32"]
