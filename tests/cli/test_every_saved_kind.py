"""Everything the package writes, it can read: every kind of saved model (the wrappers of each
family, a bare generator as training's generator.keras, and every `fuse` mode's output) loads
with `load_trained`, stylises with the `stylize` command (or samples, for a noise GAN) and exports
with the `export` command, end to end at tiny sizes."""

import contextlib
import io
import os

import numpy as np
import pytest
from PIL import Image

from keras_styletransfer.cli.main import main
from keras_styletransfer.models.loading import load_trained, parts_of
from tests.testing import tiny_wrapper

FUSED = {
    "fused_average": ["--models", "pix2pix", "pix2pix", "--mode", "average"],
    "fused_choose": ["--models", "pix2pix", "pix2pix", "--mode", "choose"],
    "fused_interpolate": ["--models", "pix2pix", "pix2pix", "--mode", "interpolate"],
    "fused_blend": ["--models", "multistyle", "--mode", "blend", "--weights", "ink=0.3,oil=0.7"],
}
STYLE_OPTIONS = {"multistyle": ["--style", "ink"], "multistyle_paired": ["--style", "ink"]}


def run_cli(*argv):
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        status = main(list(argv))
    return status, stdout.getvalue() + stderr.getvalue()


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    root = tmp_path_factory.mktemp("kinds")
    paths = {}
    for family in ("gan", "pix2pix", "cyclegan", "multistyle", "multistyle_paired"):
        model = tiny_wrapper(family, seed=2)
        model.compile()
        paths[family] = str(root / f"{family}.keras")
        model.save(paths[family])
    paths["generator"] = str(root / "generator.keras")
    load_trained(paths["pix2pix"]).primary_generator().save(paths["generator"])
    for name, options in FUSED.items():
        argv = [paths.get(option, option) for option in options]
        if name == "fused_interpolate":
            argv += ["--alpha", "0.3"]
        paths[name] = str(root / f"{name}.keras")
        status, text = run_cli("fuse", *argv, "--out", paths[name])
        assert status == 0, text
    photo = root / "photo.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (13, 19, 3), dtype=np.uint8)).save(
        photo
    )
    paths["photo"] = str(photo)
    paths["root"] = str(root)
    return paths


IMAGE_KINDS = ["pix2pix", "cyclegan", "multistyle", "multistyle_paired", "generator", *FUSED]


@pytest.mark.parametrize("kind", IMAGE_KINDS)
def test_every_image_model_kind_loads_stylises_and_exports(saved, kind):
    parts = parts_of(load_trained(saved[kind]))
    assert parts.generator is not None
    out = os.path.join(saved["root"], f"stylized_{kind}")
    status, text = run_cli(
        "stylize", "--model", saved[kind], *STYLE_OPTIONS.get(kind, []), "--out", out,
        saved["photo"],
    )  # fmt: skip
    assert status == 0, text
    assert Image.open(os.path.join(out, "photo.png")).size == (19, 13)
    status, text = run_cli("export", "--model", saved[kind], "--out", out + "_export")
    assert status == 0, text
    assert "verified serve_bytes" in text


def test_a_noise_gan_loads_samples_and_exports(saved):
    grid = os.path.join(saved["root"], "grid.png")
    status, text = run_cli("sample", "--model", saved["gan"], "--out", grid, "--num", "4")
    assert status == 0, text
    assert os.path.isfile(grid)
    status, text = run_cli("export", "--model", saved["gan"], "--out", saved["root"] + "/gan_x")
    assert status == 0, text
