"""keras_styletransfer: image style-transfer GANs for Keras 3, trained with `model.fit`.

The public names below are loaded on first use, so `import keras_styletransfer` does not import
TensorFlow.
"""

import importlib

__version__ = "0.1.0"

_EXPORTS = {
    "GAN": "keras_styletransfer.models.gan",
    "MLPGenerator": "keras_styletransfer.models.generators",
    "DCGANGenerator": "keras_styletransfer.models.generators",
    "MNISTGenerator": "keras_styletransfer.models.generators",
    "MLPDiscriminator": "keras_styletransfer.models.discriminators",
    "DCGANDiscriminator": "keras_styletransfer.models.discriminators",
    "MNISTDiscriminator": "keras_styletransfer.models.discriminators",
    "PRESETS": "keras_styletransfer.models.presets",
    "get_preset": "keras_styletransfer.models.presets",
    "TrainConfig": "keras_styletransfer.config",
    "train": "keras_styletransfer.training",
    "SampleGrid": "keras_styletransfer.callbacks",
    "StopOnNonFiniteLoss": "keras_styletransfer.callbacks",
    "InputError": "keras_styletransfer.errors",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'keras_styletransfer' has no attribute {name!r}")
