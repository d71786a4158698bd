"""Shared test helpers (keras-hub's test_case idea): config and .keras round trips, weights."""

import os

import keras
import numpy as np


def weights_of(model, skip_seed_states=True):
    """Copies of every variable of a model, keyed by position and name (not by path, which holds
    process-wide counters such as "dense_7" and so differs between two identical models)."""
    return {
        f"{index}:{variable.name}": np.array(variable.numpy())
        for index, variable in enumerate(model.variables)
        if not (skip_seed_states and "seed_generator_state" in variable.path)
    }


def assert_weights_equal(before, after):
    assert before.keys() == after.keys()
    for path in before:
        np.testing.assert_array_equal(before[path], after[path], err_msg=path)


def changed_paths(before, after):
    return [path for path in before if not np.array_equal(before[path], after[path])]


def keras_round_trip(model, tmp_path, name="model.keras"):
    path = os.path.join(tmp_path, name)
    model.save(path)
    return keras.saving.load_model(path)


def config_round_trip(model):
    config = model.get_config()
    return type(model).from_config(config), config
