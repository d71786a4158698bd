"""Generators, discriminators, the GAN wrapper and the named presets.

Names load on first use, so importing `keras_styletransfer.models.presets` (which the CLI does to
check a preset name) does not import TensorFlow. Importing the GAN registers every model class
with Keras, so `keras.saving.load_model` can read `.keras` files that hold them.
"""

import importlib

_EXPORTS = {
    "GAN": "keras_styletransfer.models.gan",
    "DCGANDiscriminator": "keras_styletransfer.models.discriminators",
    "MLPDiscriminator": "keras_styletransfer.models.discriminators",
    "MNISTDiscriminator": "keras_styletransfer.models.discriminators",
    "DCGANGenerator": "keras_styletransfer.models.generators",
    "MLPGenerator": "keras_styletransfer.models.generators",
    "MNISTGenerator": "keras_styletransfer.models.generators",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'keras_styletransfer.models' has no attribute {name!r}")
