"""Networks (generators, discriminators), the adversarial wrappers, presets and the loader.

Importing this package registers every saveable class with Keras (`registry`), so
`keras.saving.load_model` reads a `.keras` file of any family. Under the command line's
`KERAS_STYLETRANSFER_LAZY=1` the names below load on first use instead, so a preset name can be
checked without importing TensorFlow (`load_trained` registers the classes before loading).
"""

import importlib
import os

from keras_styletransfer.lazy import lazy_namespace

_EXPORTS = {
    "AdversarialModel": ".adversarial",
    "CUT": ".cut",
    "CycleGAN": ".cyclegan",
    "DCGANDiscriminator": ".discriminators",
    "DCGANGenerator": ".generators",
    "EncoderDecoderGenerator": ".generators",
    "FilterGenerator": ".filters",
    "GAN": ".gan",
    "GlobalPoolDiscriminator": ".discriminators",
    "MLPDiscriminator": ".discriminators",
    "MLPGenerator": ".generators",
    "MNISTDiscriminator": ".discriminators",
    "MNISTGenerator": ".generators",
    "MixtureGenerator": ".composite",
    "PairedMultiStyle": ".multistyle_paired",
    "StyleUNetGenerator": ".multistyle_paired",
    "MultiStyleGAN": ".multistyle",
    "PRESETS": ".presets",
    "PatchGANDiscriminator": ".discriminators",
    "PatchProjection": ".cut",
    "PhotoFilter": ".filters",
    "Pix2Pix": ".pix2pix",
    "ResnetGenerator": ".generators",
    "StyleBlendGenerator": ".composite",
    "StyleFilterGenerator": ".filters",
    "StyleGenerator": ".generators",
    "TRANSLATION_PRESETS": ".presets",
    "TrainedParts": ".loading",
    "UNetGenerator": ".generators",
    "check_finite_weights": ".loading",
    "get_preset": ".presets",
    "get_translation_preset": ".presets",
    "interpolate": ".composite",
    "load_trained": ".loading",
    "parts_of": ".loading",
    "require_wrapper": ".loading",
    "style_blend": ".composite",
}
_SUBMODULES = (
    "adversarial",
    "base",
    "composite",
    "cut",
    "cyclegan",
    "discriminators",
    "filters",
    "gan",
    "generators",
    "loading",
    "multistyle",
    "multistyle_paired",
    "pix2pix",
    "presets",
    "registry",
)

__getattr__, __dir__, __all__ = lazy_namespace(__name__, _EXPORTS, _SUBMODULES)

if os.environ.get("KERAS_STYLETRANSFER_LAZY") != "1":
    importlib.import_module("keras_styletransfer.models.registry")
