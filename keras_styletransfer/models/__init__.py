"""Networks (generators, discriminators), the adversarial wrappers, presets and the loader.

Importing this package registers every saveable class with Keras (`registry`), so
`keras.saving.load_model` reads a `.keras` file of any family. Under the command line's
`KERAS_STYLETRANSFER_LAZY=1` the names below load on first use instead, so a preset name can be
checked without importing TensorFlow (`load_trained` registers the classes before loading).
"""

import importlib
import os

_EXPORTS = {
    "AdversarialModel": "adversarial",
    "CycleGAN": "cyclegan",
    "DCGANDiscriminator": "discriminators",
    "DCGANGenerator": "generators",
    "EncoderDecoderGenerator": "generators",
    "GAN": "gan",
    "GlobalPoolDiscriminator": "discriminators",
    "MLPDiscriminator": "discriminators",
    "MLPGenerator": "generators",
    "MNISTDiscriminator": "discriminators",
    "MNISTGenerator": "generators",
    "MixtureGenerator": "composite",
    "MultiStyleGAN": "multistyle",
    "PatchGANDiscriminator": "discriminators",
    "Pix2Pix": "pix2pix",
    "ResnetGenerator": "generators",
    "StyleBlendGenerator": "composite",
    "StyleGenerator": "generators",
    "TrainedParts": "loading",
    "UNetGenerator": "generators",
    "interpolate": "composite",
    "load_trained": "loading",
    "parts_of": "loading",
    "style_blend": "composite",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name in _EXPORTS:
        return getattr(
            importlib.import_module(f"keras_styletransfer.models.{_EXPORTS[name]}"), name
        )
    raise AttributeError(f"module 'keras_styletransfer.models' has no attribute {name!r}")


def __dir__():
    return sorted({*globals(), *_EXPORTS})


if os.environ.get("KERAS_STYLETRANSFER_LAZY") != "1":
    importlib.import_module("keras_styletransfer.models.registry")
