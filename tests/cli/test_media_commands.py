"""`stylize`, `restore`, `export` and `panorama`: help with examples, progress bars on stderr over
many files and on export, and errors that stay one line even where a progress bar is open."""

import contextlib
import io

import numpy as np
import pytest
from PIL import Image

from keras_styletransfer.cli.main import build_parser, main
from tests import testing


def run_cli(*args):
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        status = main(list(args))
    return status, stdout.getvalue(), stderr.getvalue()


@pytest.mark.parametrize("command", ["stylize", "restore", "export", "panorama"])
def test_help_ends_with_real_examples(command):
    parser = build_parser()
    sub = parser._subparsers._group_actions[0].choices[command]
    assert sub.epilog.startswith("examples:")
    examples = [line.strip() for line in sub.epilog.splitlines()[1:]]
    assert examples and all(line.startswith(f"keras-styletransfer {command} ") for line in examples)
    for line in examples:  # every example parses
        parser.parse_args(line.split()[1:])


def test_progress_bars_over_many_files_and_on_export(tmp_path):
    model = str(tmp_path / "g.keras")
    testing.tiny_resnet().save(model)
    rng = np.random.default_rng(0)
    paths = []
    for index in range(5):
        paths.append(str(tmp_path / f"p{index}.png"))
        Image.fromarray(rng.integers(0, 256, (16, 24, 3), dtype=np.uint8)).save(paths[-1])
    out = str(tmp_path / "out")
    status, stdout, stderr = run_cli(
        "stylize", "--model", model, "--out", out, "--batch-size", "2", *paths
    )
    assert status == 0 and "stylised 5 image(s)" in stdout
    assert "stylize [" in stderr and "3/3" in stderr  # chunks of 2 images
    status, stdout, stderr = run_cli(
        "export", "--model", model, "--out", str(tmp_path / "exported"), "--no-verify"
    )
    assert status == 0 and "export [" in stderr and "1/1" in stderr
    # An error raised where a bar would be open is still one line.
    status, _, stderr = run_cli(
        "stylize", "--model", model, "--out", str(tmp_path / "o2"), "--style", "ink", *paths
    )
    assert status == 2 and len(stderr.strip().splitlines()) == 1 and "one style" in stderr
