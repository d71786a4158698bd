"""Networks (generators, discriminators), the adversarial wrappers, presets and the loader.

Importing this package registers every saveable class with Keras (`registry`), so
`keras.saving.load_model` reads a `.keras` file of any family.
"""

from keras_styletransfer.models import registry  # noqa: F401
from keras_styletransfer.models.adversarial import AdversarialModel
from keras_styletransfer.models.composite import (
    MixtureGenerator,
    StyleBlendGenerator,
    interpolate,
    style_blend,
)
from keras_styletransfer.models.cyclegan import CycleGAN
from keras_styletransfer.models.discriminators import (
    DCGANDiscriminator,
    GlobalPoolDiscriminator,
    MLPDiscriminator,
    MNISTDiscriminator,
    PatchGANDiscriminator,
)
from keras_styletransfer.models.gan import GAN
from keras_styletransfer.models.generators import (
    DCGANGenerator,
    EncoderDecoderGenerator,
    MLPGenerator,
    MNISTGenerator,
    ResnetGenerator,
    StyleGenerator,
    UNetGenerator,
)
from keras_styletransfer.models.loading import TrainedParts, load_trained, parts_of
from keras_styletransfer.models.multistyle import MultiStyleGAN
from keras_styletransfer.models.pix2pix import Pix2Pix

__all__ = [
    "GAN",
    "AdversarialModel",
    "CycleGAN",
    "DCGANDiscriminator",
    "DCGANGenerator",
    "EncoderDecoderGenerator",
    "GlobalPoolDiscriminator",
    "MLPDiscriminator",
    "MLPGenerator",
    "MNISTDiscriminator",
    "MNISTGenerator",
    "MixtureGenerator",
    "MultiStyleGAN",
    "PatchGANDiscriminator",
    "Pix2Pix",
    "ResnetGenerator",
    "StyleBlendGenerator",
    "StyleGenerator",
    "TrainedParts",
    "UNetGenerator",
    "interpolate",
    "load_trained",
    "parts_of",
    "style_blend",
]
