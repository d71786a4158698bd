"""Shared test set-up: quiet TensorFlow, two logical CPU devices, deterministic seeds."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import contextlib

import keras
import numpy as np
import pytest
import tensorflow as tf

# Two logical CPU devices stand in for two GPUs in distribution tests; this must happen before
# TensorFlow initialises its devices, i.e. before any test runs an op.
_cpus = tf.config.list_physical_devices("CPU")
with contextlib.suppress(RuntimeError):
    tf.config.set_logical_device_configuration(
        _cpus[0], [tf.config.LogicalDeviceConfiguration()] * 2
    )


@pytest.fixture(autouse=True)
def _seed():
    keras.utils.set_random_seed(1234)
    yield


@pytest.fixture
def digits_small():
    """64 real digits (uint8, 28x28x1) from the offline set."""
    from keras_styletransfer.data import load_offline_digits

    images, labels = load_offline_digits("train")
    return np.array(images[:64]), np.array(labels[:64])
