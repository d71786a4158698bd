"""Exact resume, proven by real kills: a run SIGKILLed at any point and started again ends with
the weights, optimizer slots and random states of a run never interrupted, bit for bit.

Each run is a fresh Python process (`RUNNER`) that trains a tiny model and saves its whole state
to an `.npz`. A kill is a real SIGKILL of that process, sent by itself at an exact point (so that
the test does not depend on timing): after an epoch's backup is written, in the middle of an
epoch, or while the backup is written (the temporary file cut in half, never renamed). One run
goes through several kills in a row, each restart resuming the previous one's backup, and its
final state must equal an uninterrupted run's. `--deterministic` is checked the same way: two
uninterrupted CLI runs give identical weights.
"""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

FIXTURES = os.path.join(os.path.dirname(__file__), os.pardir, "fixtures", "v0_1_0")

# Runs one training invocation: argv[1] is a JSON spec {family, config, run_dir, out, kill}.
RUNNER = r"""
import json, os, signal, sys
spec = json.loads(sys.argv[1])
import numpy as np
from keras_styletransfer.training import callbacks as callbacks_module, run as run_module

kill = spec["kill"] or [None]

def die():
    os.kill(os.getpid(), signal.SIGKILL)

if kill[0] == "write":  # die while the backup of epoch kill[1] is written
    target = f"epoch_{kill[1]:04d}.weights.h5"
    original = callbacks_module.replace_atomically

    def replace_atomically(write, temporary, destination, describe_failure):
        if destination.endswith(target):
            write(temporary)
            with open(temporary, "rb+") as file:  # a torn write: half the file on disk
                file.truncate(os.path.getsize(temporary) // 2)
            die()
        return original(write, temporary, destination, describe_failure)

    callbacks_module.replace_atomically = replace_atomically


class KillingBackup(run_module.ChiefBackup):
    epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if kill[0] == "batch" and [self.epoch, batch] == kill[1:]:
            die()

    def on_epoch_end(self, epoch, logs=None):
        super().on_epoch_end(epoch, logs)
        if kill[0] == "epoch_end" and epoch + 1 == kill[1]:
            die()


run_module.ChiefBackup = KillingBackup
family, run_dir = spec["family"], spec["run_dir"]
if family == "gan":
    from keras_styletransfer.config import TrainConfig
    from keras_styletransfer.training.noise import train

    result = train(TrainConfig.from_dict(spec["config"]), run_dir, verbose=0)
elif family == "fine_tune":
    from keras_styletransfer.training.fine_tune import fine_tune

    result = fine_tune(run_dir=run_dir, **spec["config"])
else:
    from keras_styletransfer.config import TranslationConfig
    from keras_styletransfer.training.translation import train_translation

    result = train_translation(TranslationConfig.from_dict(spec["config"]), run_dir, verbose=0)
model = result.model
state = [v.numpy() for v in model.variables]
for optimizer in (model.generator_optimizer, model.discriminator_optimizer):
    state += [v.numpy() for v in optimizer.variables]
state += [v.numpy() for v in model.random_states()]
np.savez(spec["out"], *state)
"""

TRANSLATION = dict(image_size=32, filters=4, epochs=3, steps_per_epoch=3, batch_size=2, seed=3)
CONFIGS = {
    "gan": dict(preset="mnist_dcgan", epochs=3, steps_per_epoch=3, batch_size=4, seed=3),
    "pix2pix": dict(family="pix2pix", **TRANSLATION),
    "cyclegan": dict(family="cyclegan", **TRANSLATION),
    "multistyle": dict(family="multistyle", styles=["pencil", "cartoon"], **TRANSLATION),
    "fine_tune": dict(
        model=os.path.join(FIXTURES, "pix2pix.keras"),
        style="cartoon",
        train_policy="gradual",
        steps=6,
        steps_per_epoch=2,
        images=4,
        batch_size=2,
        image_size=32,
        seed=5,
    ),
}


def train_in_subprocess(family, run_dir, out, kill=None):
    """One invocation; returns its exit status (-9 when it killed itself)."""
    spec = dict(
        family=family, config=CONFIGS[family], run_dir=str(run_dir), out=str(out), kill=kill
    )
    environment = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="")
    process = subprocess.run(
        [sys.executable, "-c", RUNNER, json.dumps(spec)],
        capture_output=True,
        text=True,
        timeout=900,
        env=environment,
    )
    if kill is None:
        assert process.returncode == 0, process.stderr[-3000:]
    return process.returncode


def assert_states_equal(expected_path, actual_path):
    expected, actual = np.load(expected_path), np.load(actual_path)
    assert len(expected.files) == len(actual.files)
    for name in expected.files:  # weights, optimizer slots and steps, random states, in order
        np.testing.assert_array_equal(actual[name], expected[name], err_msg=name)


def resume_through_kills(family, tmp_path, kills):
    """Train `family` without interruption, then again through `kills` (each a SIGKILL of a
    restarted process), and assert identical final states and a complete history."""
    train_in_subprocess(family, tmp_path / "straight", tmp_path / "straight.npz")
    run_dir = tmp_path / "killed"
    for kill in kills:
        status = train_in_subprocess(family, run_dir, tmp_path / "never.npz", kill=kill)
        assert status == -9, f"the run was not killed at {kill}"
        assert not (run_dir / "final.keras").exists()
    train_in_subprocess(family, run_dir, tmp_path / "resumed.npz")
    assert_states_equal(tmp_path / "straight.npz", tmp_path / "resumed.npz")
    # history.json holds every epoch, those before the kills too, with the same losses.
    straight = json.loads((tmp_path / "straight" / "history.json").read_text())
    resumed = json.loads((run_dir / "history.json").read_text())
    assert resumed.pop("initial_epoch") > 0 and straight.pop("initial_epoch") == 0
    assert resumed == straight
    assert not (run_dir / "backup").exists()  # finished: the backups and their temporaries go


def state_of(model):
    """Weights, both optimizers' variables and the random states, as arrays (`RUNNER`'s order)."""
    variables = [*model.variables]
    for optimizer in (model.generator_optimizer, model.discriminator_optimizer):
        variables += optimizer.variables
    return [np.asarray(v) for v in (*variables, *model.random_states())]


def _noise_run(run_dir, stop_after=None):
    """A tiny noise-GAN run in this process, interrupted after epoch `stop_after`'s backup."""
    import keras

    from keras_styletransfer.config import TrainConfig
    from keras_styletransfer.training.noise import NoiseRecipe
    from keras_styletransfer.training.run import run

    class Interrupt(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch + 1 == stop_after:
                raise KeyboardInterrupt

    class Recipe(NoiseRecipe):
        def callbacks(self, run_dir):
            return [*super().callbacks(run_dir), Interrupt()]

    config = TrainConfig.from_dict(CONFIGS["gan"])
    try:
        return run(Recipe(config), str(run_dir), verbose=0)
    except KeyboardInterrupt:
        return None


@pytest.mark.slow
def test_a_resumed_run_continues_the_data_stream_and_keeps_the_whole_history(tmp_path):
    """In one process: the resumed run's weights, optimizer slots and random states equal an
    uninterrupted run's (it fails if the resumed run reads the data from its beginning), and its
    history holds the epochs before the interruption."""
    straight = _noise_run(tmp_path / "straight")
    assert _noise_run(tmp_path / "resumed", stop_after=2) is None
    stored = json.loads((tmp_path / "resumed" / "backup" / "history.json").read_text())
    assert len(stored["g_loss"]) == 2
    resumed = _noise_run(tmp_path / "resumed")
    assert resumed.initial_epoch == 2
    expected, actual = state_of(straight.model), state_of(resumed.model)
    assert len(expected) == len(actual)
    for index, (x, y) in enumerate(zip(expected, actual, strict=True)):
        np.testing.assert_array_equal(y, x, err_msg=str(index))
    assert resumed.history == straight.history and len(resumed.history["g_loss"]) == 3
    written = json.loads((tmp_path / "resumed" / "history.json").read_text())
    assert written == {"initial_epoch": 2, **straight.history}


def test_a_history_written_before_its_weights_is_cut_back_to_the_restored_epoch(tmp_path):
    """A kill between the two writes of a backup leaves the history one epoch ahead."""
    from keras_styletransfer.training.callbacks import ResumableBackup

    backup = ResumableBackup(str(tmp_path))
    (tmp_path / "history.json").write_text(json.dumps({"g_loss": [3.0, 2.0, 1.0]}))
    assert backup._stored_history(2) == {"g_loss": [3.0, 2.0]}
    (tmp_path / "history.json").write_text("{not json")
    assert backup._stored_history(2) == {}


@pytest.mark.slow
def test_noise_gan_killed_at_every_kind_of_point_resumes_bit_identically(tmp_path):
    kills = [
        ["write", 1],  # during the first backup: nothing to resume, starts again
        ["epoch_end", 1],  # right after the first backup
        ["batch", 1, 1],  # in the middle of the second epoch
        ["write", 2],  # while the second backup is written: resumes from the first
    ]
    resume_through_kills("gan", tmp_path, kills)


@pytest.mark.slow
@pytest.mark.parametrize("family", ["pix2pix", "cyclegan", "multistyle", "fine_tune"])
def test_image_to_image_run_killed_mid_epoch_and_mid_write_resumes_bit_identically(
    family, tmp_path
):
    resume_through_kills(family, tmp_path, [["batch", 1, 1], ["write", 2]])


@pytest.mark.slow
def test_two_deterministic_pix2pix_runs_of_the_cli_give_identical_weights(tmp_path):
    from keras_styletransfer.models.loading import load_trained

    script = os.path.join(os.path.dirname(sys.executable), "keras-styletransfer")
    arguments = ["--family", "pix2pix", "--image-size", "32", "--filters", "4", "--epochs", "2"]
    arguments += ["--steps-per-epoch", "2", "--batch-size", "2", "--seed", "1", "--deterministic"]
    for name in ("a", "b"):
        result = subprocess.run(
            [script, "train-style", *arguments, "--run-dir", str(tmp_path / name)],
            capture_output=True,
            text=True,
            timeout=900,
        )
        assert result.returncode == 0, result.stderr[-3000:]
        config = json.loads((tmp_path / name / "config.json").read_text())
        assert config["deterministic"] is True
    first, second = (load_trained(str(tmp_path / name / "final.keras")) for name in ("a", "b"))
    assert len(first.variables) == len(second.variables)
    for a, b in zip(first.variables, second.variables, strict=True):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b), err_msg=a.path)
    for a, b in zip(
        first.generator_optimizer.variables, second.generator_optimizer.variables, strict=True
    ):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b), err_msg=a.path)
