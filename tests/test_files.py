"""Nothing already written is lost: output-path checks, atomic writes, the run lock."""

import errno
import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from keras_styletransfer import files
from keras_styletransfer.errors import InputError


def enospc(path):
    with open(path, "wb") as file:
        file.write(b"half a file")
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_a_full_disk_keeps_the_previous_file_and_no_temporary_file(tmp_path):
    target = tmp_path / "metrics.json"
    files.write_json(target, {"old": 1})
    with pytest.raises(InputError, match="no space left on the device") as caught:
        files.write_atomically(target, enospc)
    assert "\n" not in str(caught.value)
    assert json.loads(target.read_text()) == {"old": 1}
    assert os.listdir(tmp_path) == ["metrics.json"]


def test_replace_atomically_keeps_the_errno_and_removes_the_temporary_file(tmp_path):
    target, temporary = tmp_path / "last.keras", tmp_path / ".tmp-last.keras"
    target.write_bytes(b"previous")
    with pytest.raises(OSError) as caught:
        files.replace_atomically(enospc, str(temporary), str(target), lambda e: "disk full")
    assert caught.value.errno == errno.ENOSPC and caught.value.strerror == "disk full"
    assert target.read_bytes() == b"previous" and not temporary.exists()


def test_png_writers_are_atomic(tmp_path, monkeypatch):
    import numpy as np

    from keras_styletransfer.images import new_figure, save_figure, save_png

    save_png(np.zeros((4, 4, 3), np.uint8), tmp_path / "a.png")
    save_figure(new_figure(), tmp_path / "b.png")
    before = {name: (tmp_path / name).read_bytes() for name in ("a.png", "b.png")}
    monkeypatch.setattr(files.os, "replace", lambda *a: enospc(a[0]))
    with pytest.raises(InputError, match="no space"):
        save_png(np.ones((4, 4, 3), np.uint8), tmp_path / "a.png")
    with pytest.raises(InputError, match="no space"):
        save_figure(new_figure(figsize=(2, 2)), tmp_path / "b.png")
    assert {name: (tmp_path / name).read_bytes() for name in before} == before
    assert sorted(os.listdir(tmp_path)) == ["a.png", "b.png"]


def test_output_file_rules(tmp_path):
    model = tmp_path / "a.keras"
    model.write_bytes(b"model")
    with pytest.raises(InputError, match="one of this command's inputs"):
        files.check_output_file(model, inputs=[str(model)], overwrite=True)
    with pytest.raises(InputError, match=r"already exists.*--overwrite"):
        files.check_output_file(model)
    assert files.check_output_file(model, overwrite=True) == str(model)
    with pytest.raises(InputError, match="is a folder"):
        files.check_output_file(tmp_path)
    with pytest.raises(InputError, match="is a file, not a folder"):
        files.check_output_file(model / "sub" / "out.json")
    assert files.check_output_file(tmp_path / "new" / "deeper" / "out.json")  # folders made later


def test_output_folder_rules(tmp_path):
    photo = tmp_path / "photo.png"
    photo.write_bytes(b"png")
    with pytest.raises(InputError, match="would replace the input"):
        files.check_output_folder(
            tmp_path, inputs=[str(photo)], writes=["photo.png"], overwrite=True
        )
    with pytest.raises(InputError, match=r"already holds photo\.png"):
        files.check_output_folder(tmp_path, writes=["photo.png"])
    run = tmp_path / "run"
    run.mkdir()
    (run / "final.keras").write_bytes(b"model")
    with pytest.raises(InputError, match=r"already holds final\.keras.*--overwrite"):
        files.check_output_folder(run)
    files.check_output_folder(run, overwrite=True)
    with pytest.raises(InputError, match="is a file"):
        files.check_output_folder(photo)


def test_a_read_only_location_is_refused_before_work(tmp_path, monkeypatch):
    # Root ignores permissions, so the refusal of the probe is simulated here; the real
    # read-only mount is tested in tests/cli/test_outputs_cli.py.
    def refuse(*args, **kwargs):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS))

    monkeypatch.setattr(files.tempfile, "mkstemp", refuse)
    with pytest.raises(InputError, match="read-only file system"):
        files.check_output_folder(tmp_path / "out")


def test_free_space_is_checked_against_an_estimate(tmp_path):
    files.check_free_space(tmp_path, 1)
    with pytest.raises(InputError, match="MB free but about"):
        files.check_free_space(tmp_path, 10**18, "--run-dir")


HOLDER = textwrap.dedent(
    """
    import sys, time
    from keras_styletransfer.files import run_lock
    with run_lock(sys.argv[1]):
        print("locked", flush=True)
        time.sleep(120)
    """
)


def test_a_run_folder_is_locked_by_one_process_and_freed_when_it_is_killed(tmp_path):
    run_dir = tmp_path / "run"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(run_dir)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "KERAS_STYLETRANSFER_LAZY": "1"},
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        in_use = rf"in use by another run \(pid {holder.pid} on .*, started 20"
        with pytest.raises(InputError, match=in_use), files.run_lock(run_dir):
            pass
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    deadline = time.time() + 10
    while True:  # the OS frees the lock of a killed process: no stale lock blocks the resume
        try:
            with files.run_lock(run_dir), files.run_lock(run_dir):  # nested in one process
                break
        except InputError:
            assert time.time() < deadline
            time.sleep(0.1)


def test_an_interrupted_run_is_discarded_with_overwrite_not_resumed(tmp_path):
    from keras_styletransfer.config import TrainConfig
    from keras_styletransfer.training.checks import check_run_dir, discard_run

    run_dir = tmp_path / "run"
    (run_dir / "backup").mkdir(parents=True)
    (run_dir / "backup" / "epoch_0001.weights.h5").write_bytes(b"weights")
    (run_dir / "checkpoints").mkdir()
    config = TrainConfig(preset="mlp_gan")
    config.save(str(run_dir))
    assert check_run_dir(config, str(run_dir)) == "resume"
    assert check_run_dir(TrainConfig(preset="mnist_dcgan"), str(run_dir), overwrite=True) == (
        "overwrite"
    )
    discard_run(str(run_dir))
    assert sorted(os.listdir(run_dir)) == ["config.json"]
    assert check_run_dir(config, str(run_dir)) == "new"


def test_a_run_folder_holding_its_input_or_another_run_is_refused(tmp_path):
    from keras_styletransfer.config import TrainConfig, TranslationConfig
    from keras_styletransfer.training.checks import check_run_dir

    source = tmp_path / "source"
    source.mkdir()
    (source / "final.keras").write_bytes(b"model")
    TranslationConfig().save(str(source))
    with pytest.raises(InputError, match="holds this run's input"):
        check_run_dir(None, str(source), True, inputs=[str(source / "final.keras")])
    with pytest.raises(InputError, match="already holds a finished run"):
        check_run_dir(TranslationConfig(), str(source))
    other = tmp_path / "other"
    other.mkdir()
    TrainConfig(preset="mlp_gan").save(str(other))
    with pytest.raises(InputError, match="holds another run"):
        check_run_dir(TrainConfig(preset="mnist_dcgan"), str(other))
    models = tmp_path / "models"
    models.mkdir()
    (models / "mine.keras").write_bytes(b"model")
    with pytest.raises(InputError, match="holds models that are not this run's"):
        check_run_dir(TrainConfig(preset="mnist_dcgan"), str(models))
    with pytest.raises(InputError, match="is a file"):
        check_run_dir(None, str(models / "mine.keras"))
