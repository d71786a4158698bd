"""keras_styletransfer: image style-transfer GANs for Keras 3, trained with `model.fit`.

Importing the package imports TensorFlow and registers every saveable class with Keras, so
`keras.saving.load_model("run/final.keras")` works after `import keras_styletransfer` alone.

The `keras-styletransfer` command sets `KERAS_STYLETRANSFER_LAZY=1` before importing the
package: the names below then load on first use, so `--help` and argument errors answer before
TensorFlow is imported (the command loads models through `load_trained`, which registers them).

Example:
    >>> import keras_styletransfer as kst
    >>> model = kst.load_trained("saved_models/demo/final.keras")
    >>> images = kst.stylize(model, "photo.jpg")
"""

import importlib
import os

from keras_styletransfer.lazy import lazy_namespace

__version__ = "0.1.0"

_EXPORTS = {
    # models
    "GAN": "keras_styletransfer.models.gan",
    "Pix2Pix": "keras_styletransfer.models.pix2pix",
    "CycleGAN": "keras_styletransfer.models.cyclegan",
    "CUT": "keras_styletransfer.models.cut",
    "PairedMultiStyle": "keras_styletransfer.models.multistyle_paired",
    "StyleUNetGenerator": "keras_styletransfer.models.multistyle_paired",
    "MultiStyleGAN": "keras_styletransfer.models.multistyle",
    "AdversarialModel": "keras_styletransfer.models.adversarial",
    "MLPGenerator": "keras_styletransfer.models.generators",
    "DCGANGenerator": "keras_styletransfer.models.generators",
    "MNISTGenerator": "keras_styletransfer.models.generators",
    "EncoderDecoderGenerator": "keras_styletransfer.models.generators",
    "ResnetGenerator": "keras_styletransfer.models.generators",
    "UNetGenerator": "keras_styletransfer.models.generators",
    "StyleGenerator": "keras_styletransfer.models.generators",
    "MLPDiscriminator": "keras_styletransfer.models.discriminators",
    "DCGANDiscriminator": "keras_styletransfer.models.discriminators",
    "MNISTDiscriminator": "keras_styletransfer.models.discriminators",
    "PatchGANDiscriminator": "keras_styletransfer.models.discriminators",
    "GlobalPoolDiscriminator": "keras_styletransfer.models.discriminators",
    "MixtureGenerator": "keras_styletransfer.models.composite",
    "StyleBlendGenerator": "keras_styletransfer.models.composite",
    "interpolate": "keras_styletransfer.models.composite",
    "style_blend": "keras_styletransfer.models.composite",
    "PRESETS": "keras_styletransfer.models.presets",
    "get_preset": "keras_styletransfer.models.presets",
    "load_trained": "keras_styletransfer.models.loading",
    "parts_of": "keras_styletransfer.models.loading",
    # configuration and training
    "TrainConfig": "keras_styletransfer.config",
    "TranslationConfig": "keras_styletransfer.config",
    "train": "keras_styletransfer.training.noise",
    "train_translation": "keras_styletransfer.training.translation",
    "fine_tune": "keras_styletransfer.training.fine_tune",
    "SampleGrid": "keras_styletransfer.training.callbacks",
    "StopOnNonFiniteLoss": "keras_styletransfer.training.callbacks",
    # serving
    "stylize": "keras_styletransfer.serving.inference",
    "Stylizer": "keras_styletransfer.serving.inference",
    "export_generator": "keras_styletransfer.serving.export",
    "verify_export": "keras_styletransfer.serving.export",
    "export_tflite": "keras_styletransfer.serving.tflite",
    "stylize_video": "keras_styletransfer.serving.video",
    "stitch": "keras_styletransfer.serving.panorama",
    # errors
    "InputError": "keras_styletransfer.errors",
    "PipelineOptions": "keras_styletransfer.data.options",
}
_SUBPACKAGES = (
    "config",
    "data",
    "distribute",
    "evaluation",
    "explain",
    "images",
    "losses",
    "metrics",
    "models",
    "serving",
    "training",
    "validation",
)

__getattr__, __dir__, __all__ = lazy_namespace(__name__, _EXPORTS, _SUBPACKAGES)

if os.environ.get("KERAS_STYLETRANSFER_LAZY") != "1":
    # Registers every saveable class (and imports TensorFlow).
    importlib.import_module("keras_styletransfer.models.registry")
