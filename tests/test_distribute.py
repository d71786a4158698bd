"""Distribution: N replicas make the same update as one device, strategies by name, precision.

The equivalence tests train every adversarial family for two steps on one device and under
MirroredStrategy over the two logical CPU devices `conftest.py` sets up, on the same global batch
and seed, and compare every weight and every logged value. They use plain SGD: Adam's first steps
are nearly `lr * sign(gradient)` and would hide a gradient N times too large. The networks have
no dropout (each replica draws its own dropout mask for its slice: see the README); batch
normalisation is synchronised with `synchronize_batch_norm`.
"""

import json
import os
import socket
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_styletransfer import distribute
from keras_styletransfer.errors import InputError
from keras_styletransfer.models import discriminators, generators
from keras_styletransfer.models.cyclegan import CycleGAN
from keras_styletransfer.models.gan import GAN
from keras_styletransfer.models.multistyle import MultiStyleGAN
from keras_styletransfer.models.pix2pix import Pix2Pix
from keras_styletransfer.training.callbacks import ChiefBackup
from tests.testing import weights_of

ATOL = 1e-5


def two_device_strategy():
    devices = tf.config.list_logical_devices("CPU")
    if len(devices) < 2:
        pytest.skip("needs two logical CPU devices (set up in conftest before TF starts)")
    return distribute.get_strategy("mirrored", devices=[d.name for d in devices[:2]])


def sgd():
    return keras.optimizers.SGD(learning_rate=0.1)


def images(rng, count, size=16, channels=3):
    return rng.uniform(-1, 1, (count, size, size, channels)).astype("float32")


def build_gan():
    generator = generators.MNISTGenerator(
        latent_dim=8, hidden_units=16, image_size=16, batch_norm=True
    )
    discriminator = discriminators.MNISTDiscriminator(
        image_shape=(16, 16, 1), filters=(4, 8), dropout=0.0
    )
    return GAN(generator, discriminator, loss="wasserstein", seed=3)


def build_pix2pix():
    generator = generators.UNetGenerator(
        num_downsamplings=3, filters=4, max_filters=8, dropout=0.0, channels=3
    )
    discriminator = discriminators.PatchGANDiscriminator(
        num_layers=2, filters=4, conditional=True, norm="batch"
    )
    return Pix2Pix(generator, discriminator, l1_weight=10.0, seed=3)


def build_cyclegan():
    def generator(name):
        return generators.ResnetGenerator(
            num_residual_blocks=1, filters=4, num_downsamplings=1, name=name
        )

    def discriminator(name):
        return discriminators.PatchGANDiscriminator(num_layers=2, filters=4, name=name)

    # A pool of 2 and a global batch of 4: full after the first step, swapping in the second.
    return CycleGAN(
        generator("g_ab"),
        generator("g_ba"),
        discriminator("d_a"),
        discriminator("d_b"),
        pool_size=2,
        image_shape=(16, 16, 3),
        seed=3,
    )


def build_multistyle():
    generator = generators.StyleGenerator(
        num_styles=3, filters=4, num_residual_blocks=1, num_downsamplings=1
    )
    discriminator = discriminators.GlobalPoolDiscriminator(num_layers=2, filters=4, num_styles=3)
    return MultiStyleGAN(generator, discriminator, style_names=["a", "b"], seed=3)


def family_data(family):
    rng = np.random.default_rng(7)
    if family == "gan":
        return (images(rng, 8, channels=1),)
    if family == "multistyle":
        return images(rng, 8), images(rng, 8), rng.integers(0, 2, 8).astype("int32")
    return images(rng, 8), images(rng, 8)


BUILDERS = {
    "gan": build_gan,
    "pix2pix": build_pix2pix,
    "cyclegan": build_cyclegan,
    "multistyle": build_multistyle,
}


def train_two_steps(family, strategy):
    """Weights and logs after two steps on global batches of 4 (same seed, same data)."""
    keras.utils.set_random_seed(11)
    with strategy.scope():
        model = BUILDERS[family]()
        for network in (*model.generator_networks(), *model.discriminator_networks()):
            distribute.synchronize_batch_norm(network)
        model.compile(generator_optimizer=sgd(), discriminator_optimizer=sgd())
    dataset = tf.data.Dataset.from_tensor_slices(family_data(family)).batch(4)
    history = model.fit(dataset, epochs=1, verbose=0).history
    return weights_of(model), {key: values[-1] for key, values in history.items()}


@pytest.mark.slow
@pytest.mark.parametrize("family", sorted(BUILDERS))
def test_two_replicas_make_the_single_device_update(family):
    single_weights, single_logs = train_two_steps(family, distribute.get_strategy("default"))
    mirrored_weights, mirrored_logs = train_two_steps(family, two_device_strategy())
    assert single_weights.keys() == mirrored_weights.keys()
    changed = 0
    for key, value in single_weights.items():
        np.testing.assert_allclose(mirrored_weights[key], value, atol=ATOL, err_msg=key)
        changed += not np.array_equal(value, 0)
    assert changed > 0
    assert single_logs.keys() == mirrored_logs.keys()
    for key, value in single_logs.items():
        assert mirrored_logs[key] == pytest.approx(value, rel=1e-4, abs=ATOL), key


@pytest.mark.slow
def test_weight_averages_under_two_replicas_match_one_device(monkeypatch):
    # `use_ema` updates its averages inside the replicated step and `fit` finalizes them after
    # it (`AdversarialModel.fit`): the averaged weights must not depend on the replicas.
    plain, _ = train_two_steps("cyclegan", distribute.get_strategy("default"))
    monkeypatch.setitem(
        globals(), "sgd", lambda: keras.optimizers.SGD(0.1, use_ema=True, ema_momentum=0.5)
    )
    single, _ = train_two_steps("cyclegan", distribute.get_strategy("default"))
    mirrored, _ = train_two_steps("cyclegan", two_device_strategy())
    assert any(not np.allclose(single[key], plain[key]) for key in plain)  # averaged
    for key, value in single.items():
        np.testing.assert_allclose(mirrored[key], value, atol=ATOL, err_msg=key)


# --- strategies by name, TF_CONFIG, chief-only writing ------------------------------------------

TWO_WORKERS = {"cluster": {"worker": ["localhost:1", "localhost:2"]}}


def tf_config(index, **extra):
    return json.dumps({**TWO_WORKERS, "task": {"type": "worker", "index": index}, **extra})


def test_strategies_by_name_and_clear_errors(monkeypatch):
    assert distribute.get_strategy("default") is tf.distribute.get_strategy()
    # No GPU here: "auto" is one device.
    assert distribute.num_replicas(distribute.get_strategy("auto")) == 1
    assert distribute.num_replicas(two_device_strategy()) == 2
    with pytest.raises(InputError, match="auto, default, mirrored, multi_worker"):
        distribute.get_strategy("tpu")
    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(InputError, match="needs the TF_CONFIG"):
        distribute.get_strategy("multi_worker")
    for bad, message in [
        ("{not json", "not valid JSON"),
        ('{"cluster": {"worker": ["a:1"]}, "task": {"type": "worker", "index": 3}}', "range"),
        ('{"cluster": {"worker": ["a:1"]}, "task": {"type": "chief"}}', "task"),
        ('{"cluster": {"ps": ["a:1"], "worker": ["b:1"]}, "task": {"type": "worker"}}', "ps"),
    ]:
        monkeypatch.setenv("TF_CONFIG", bad)
        with pytest.raises(InputError, match=message):
            distribute.get_strategy("multi_worker")
    with pytest.raises(InputError, match="mixed_float16"):
        distribute.set_mixed_precision("float8")
    with pytest.raises(InputError, match="multiple of 2"):
        distribute.check_global_batch_size(7, two_device_strategy())


def test_only_the_chief_writes(monkeypatch, tmp_path):
    (tmp_path / "private").mkdir()
    monkeypatch.setenv("TMPDIR", str(tmp_path / "private"))
    monkeypatch.setattr("tempfile.tempdir", None)
    target = str(tmp_path / "run" / "final.keras")
    monkeypatch.setenv("TF_CONFIG", tf_config(0))
    assert distribute.is_chief() and distribute.worker_path(target) == target
    monkeypatch.setenv("TF_CONFIG", tf_config(1))
    assert not distribute.is_chief()
    private = distribute.worker_path(target)
    assert private != target and private.startswith(str(tmp_path / "private"))
    os.makedirs(os.path.dirname(private))
    open(private, "w").close()
    distribute.remove_worker_files(target)
    assert not os.path.exists(tmp_path / "private" / "keras_styletransfer_worker_1")
    # With a "chief" task in the cluster, worker 0 is not the chief.
    monkeypatch.setenv(
        "TF_CONFIG", tf_config(0, cluster={**TWO_WORKERS["cluster"], "chief": ["c:1"]})
    )
    assert not distribute.is_chief()


def test_chief_backup_restores_everywhere_but_writes_only_on_the_chief(monkeypatch, tmp_path):
    (tmp_path / "private").mkdir()
    monkeypatch.setenv("TMPDIR", str(tmp_path / "private"))
    monkeypatch.setattr("tempfile.tempdir", None)
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    shared = str(tmp_path / "backup")
    monkeypatch.setenv("TF_CONFIG", tf_config(0))
    chief = ChiefBackup(shared, delete_on_success=False)
    chief.set_model(model)
    chief.on_epoch_end(0)
    # The epoch's weights and the logs of every epoch so far (a resumed run's full history).
    assert sorted(os.listdir(shared)) == ["epoch_0001.weights.h5", "history.json"]
    saved = model.get_weights()
    model.set_weights([np.zeros_like(w) for w in saved])

    monkeypatch.setenv("TF_CONFIG", tf_config(1))
    worker = ChiefBackup(shared)
    worker.set_model(model)
    worker.on_train_begin()
    assert worker.restored_epoch == 1
    for restored, expected in zip(model.get_weights(), saved, strict=True):
        np.testing.assert_array_equal(restored, expected)
    worker.on_epoch_end(1)
    worker.on_train_end()
    # Nothing added, nothing deleted by the worker.
    assert sorted(os.listdir(shared)) == ["epoch_0001.weights.h5", "history.json"]
    assert not os.listdir(tmp_path / "private")


def test_synchronized_batch_norm_gives_single_device_statistics():
    rng = np.random.default_rng(0)
    # Two halves with different means: unsynchronised replicas each see only one of them.
    x = np.concatenate([rng.normal(-2, 1, (4, 3)), rng.normal(3, 1, (4, 3))]).astype("float32")

    def moving_stats(strategy, synchronized):
        keras.utils.set_random_seed(0)
        with strategy.scope():
            model = keras.Sequential(
                [keras.Input((3,)), keras.layers.BatchNormalization(momentum=0.0)]
            )
            if synchronized:
                assert distribute.synchronize_batch_norm(model) == 1
            model.compile(optimizer=sgd(), loss="mse")
        model.fit(x, x, batch_size=8, epochs=1, verbose=0, shuffle=False)
        layer = model.layers[0]
        return layer.moving_mean.numpy(), layer.moving_variance.numpy()

    single = moving_stats(distribute.get_strategy("default"), False)
    synced = moving_stats(two_device_strategy(), True)
    unsynced = moving_stats(two_device_strategy(), False)
    np.testing.assert_allclose(synced[0], single[0], atol=1e-6)
    np.testing.assert_allclose(synced[1], single[1], atol=1e-6)
    # momentum=0: the moving statistics are the last batch's. Without synchronisation the
    # variance misses the spread between the halves.
    assert np.all(unsynced[1] < 0.5 * single[1])


# --- mixed precision --------------------------------------------------------------------------


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
def test_mixed_precision_trains_with_finite_losses(policy):
    with distribute.mixed_precision(policy):
        model = build_pix2pix()
        model.compile()
        convolutions = [layer for layer in model.generator.layers if hasattr(layer, "kernel")]
        assert {layer.compute_dtype for layer in convolutions} == {policy.split("_")[1]}
        scaled = isinstance(model.generator_optimizer, keras.optimizers.LossScaleOptimizer)
        assert scaled == (policy == "mixed_float16")
        kernel = model.generator.trainable_weights[0]
        before = kernel.numpy().copy()
        history = model.fit(
            tf.data.Dataset.from_tensor_slices(family_data("pix2pix")).batch(4).repeat(),
            steps_per_epoch=3,
            epochs=1,
            verbose=0,
        ).history
    assert keras.mixed_precision.global_policy().name == "float32"
    assert all(np.isfinite(values[-1]) for values in history.values())
    assert kernel.dtype == "float32"  # weights stay float32; only the compute is cast
    assert not np.array_equal(kernel.numpy(), before)


# --- several worker processes -----------------------------------------------------------------


def free_port():
    with socket.socket() as sock:
        sock.bind(("localhost", 0))
        return sock.getsockname()[1]


@pytest.mark.slow
def test_two_workers_train_identical_weights_and_only_the_chief_writes(tmp_path):
    ports = [free_port(), free_port()]
    run_dir = tmp_path / "run"
    processes = []
    try:
        for index in range(2):
            private = tmp_path / f"tmp{index}"
            private.mkdir()
            config = {
                "cluster": {"worker": [f"localhost:{port}" for port in ports]},
                "task": {"type": "worker", "index": index},
            }
            environment = dict(
                os.environ,
                TF_CONFIG=json.dumps(config),
                TMPDIR=str(private),
                CUDA_VISIBLE_DEVICES="",
                TF_CPP_MIN_LOG_LEVEL="3",
            )
            processes.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "tests.multiworker_worker",
                        str(run_dir),
                        str(tmp_path / f"worker{index}.npz"),
                    ],
                    env=environment,
                    cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                )
            )
        outputs = [process.communicate(timeout=420)[0].decode()[-3000:] for process in processes]
        assert [process.returncode for process in processes] == [0, 0], outputs
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
    chief, worker = (np.load(tmp_path / f"worker{index}.npz") for index in range(2))
    assert int(chief["iterations"]) == int(worker["iterations"]) == 4
    assert chief.files == worker.files
    for key in chief.files:
        np.testing.assert_array_equal(chief[key], worker[key], err_msg=key)
    # The chief wrote the run; the other worker's private copies are gone.
    for name in ("final.keras", "history.json", "config.json", "checkpoints/last.keras"):
        assert (run_dir / name).is_file(), name
    assert not (run_dir / "backup").exists()  # deleted by the chief after success
    assert sorted(os.listdir(run_dir / "samples")) == ["epoch_001.png", "epoch_002.png"]
    assert not os.listdir(tmp_path / "tmp1")
    assert not os.listdir(tmp_path / "tmp0")
