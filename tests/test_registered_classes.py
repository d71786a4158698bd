"""Config round trip, `.keras` round trip and one `fit` step over every registered class."""

import os
import subprocess
import sys

import keras
import numpy as np
import pytest

from tests import testing


def test_every_registered_class_has_a_tiny_instance():
    names = set(testing.registered_class_names())
    covered = (
        {name for name, _, _ in testing.network_cases()}
        | set(testing.WRAPPER_CLASSES)
        | set(testing.COVERED_INSIDE)
    )
    assert names, "nothing registered: importing keras_styletransfer must register its classes"
    assert names <= covered, (
        f"registered without a tiny instance in tests/testing.py: {names - covered}"
    )
    # Also no stale entries: every tested class is still registered.
    assert covered <= names, f"tested but no longer registered: {covered - names}"


@pytest.mark.parametrize(
    "name,build,inputs",
    testing.network_cases(),
    ids=[name for name, _, _ in testing.network_cases()],
)
def test_network_config_and_keras_round_trips_give_identical_outputs(name, build, inputs, tmp_path):
    model = build()
    assert type(model).__name__ == name
    data = inputs()
    expected = _arrays(model(data, training=False))
    config = model.get_config()
    rebuilt = type(model).from_config(config)
    assert rebuilt.get_config() == config
    assert [w.shape for w in rebuilt.weights] == [w.shape for w in model.weights]
    path = str(tmp_path / f"{name}.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert type(loaded) is type(model)
    outputs = _arrays(loaded(data, training=False))
    assert len(outputs) == len(expected)
    for got, want in zip(outputs, expected, strict=True):
        np.testing.assert_array_equal(got, want)


def _arrays(outputs):
    """A model's output(s) as a list of NumPy arrays."""
    if isinstance(outputs, list | tuple):
        return [np.asarray(output) for output in outputs]
    return [np.asarray(outputs)]


@pytest.mark.parametrize("family", testing.FAMILIES)
def test_wrapper_fit_step_config_and_keras_round_trip(family, tmp_path):
    model = testing.tiny_wrapper(family)
    assert model.family == family
    model.compile()
    before = [np.array(v) for v in model.generator_variables()]
    history = model.fit(_dataset(family), epochs=1, verbose=0)
    assert np.isfinite(history.history["g_loss"][0]) and np.isfinite(history.history["d_loss"][0])
    after = [np.array(v) for v in model.generator_variables()]
    assert any(not np.array_equal(a, b) for a, b in zip(before, after, strict=True))

    config = model.get_config()
    rebuilt = type(model).from_config(config)
    assert rebuilt.get_config() == config

    path = str(tmp_path / f"{family}.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert type(loaded) is type(model)
    batch = model.probe_batch(testing.tiny_batch(family, seed=5))
    np.testing.assert_array_equal(
        np.asarray(loaded.generate(batch)), np.asarray(model.generate(batch))
    )
    # The optimizers come back built, with the same slot values: the run is resumable.
    assert loaded.generator_optimizer is not None
    np.testing.assert_array_equal(
        np.asarray(loaded.generator_optimizer.iterations),
        np.asarray(model.generator_optimizer.iterations),
    )


def _dataset(family):
    import tensorflow as tf

    batch = testing.tiny_batch(family)
    return tf.data.Dataset.from_tensors(batch)


def test_a_keras_file_of_every_family_loads_after_importing_only_the_package(tmp_path):
    for family in testing.FAMILIES:
        model = testing.tiny_wrapper(family)
        model.compile()
        model.save(str(tmp_path / f"{family}.keras"))
    testing.tiny_unet().save(str(tmp_path / "unet.keras"))
    script = (
        "import sys, keras, keras_styletransfer\n"
        "for name in sys.argv[1:]:\n"
        "    model = keras.saving.load_model(name)\n"
        "    print(type(model).__name__)\n"
    )
    names = [str(tmp_path / f"{family}.keras") for family in testing.FAMILIES]
    names.append(str(tmp_path / "unet.keras"))
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    env.pop("KERAS_STYLETRANSFER_LAZY", None)
    result = subprocess.run(
        [sys.executable, "-c", script, *names], capture_output=True, text=True, env=env, timeout=300
    )
    assert result.returncode == 0, result.stderr[-2000:]
    wrappers = {family: name for name, family in testing.WRAPPER_CLASSES.items()}
    expected = [wrappers[family] for family in testing.FAMILIES]
    assert result.stdout.split() == [*expected, "UNetGenerator"]
