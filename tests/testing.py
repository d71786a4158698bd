"""Tiny instances of every saveable class, and the checks run over all of them.

keras-hub's `test_case.py` idea: one table says how to build a small instance of each class the
package registers with Keras and what to feed it; `tests/test_registered_classes.py` runs the
config round trip, the `.keras` round trip (identical outputs in a fresh load) and, for the
adversarial wrappers, one `fit` step over every entry. A newly registered class without an entry
here fails `test_every_registered_class_has_a_tiny_instance`.
"""

from __future__ import annotations

import os

import keras
import numpy as np

SIZE = 16  # image side of the tiny image models


# --- weights and round trips ---------------------------------------------------------------------


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


def random_images(count=2, size=SIZE, channels=3, seed=0):
    """Float32 images in [-1, 1], shape (count, size, size, channels)."""
    rng = np.random.default_rng(seed)
    return rng.uniform(-1.0, 1.0, (count, size, size, channels)).astype(np.float32)


def style_inputs(count, num_styles, size=SIZE, seed=0):
    """A `StyleGenerator` input dict: images, one-hot styles (cycling), strength 1."""
    images = random_images(count, size, seed=seed)
    return {
        "image": images,
        "style": np.eye(num_styles, dtype=np.float32)[np.arange(count) % num_styles],
        "strength": np.ones((count, 1), np.float32),
    }


# --- tiny networks --------------------------------------------------------------------------------


def tiny_unet(name="unet_generator"):
    from keras_styletransfer.models import UNetGenerator

    return UNetGenerator(num_downsamplings=2, filters=4, max_filters=8, name=name)


def tiny_resnet(name="resnet_generator"):
    from keras_styletransfer.models import ResnetGenerator

    return ResnetGenerator(num_residual_blocks=1, filters=4, name=name)


def tiny_patchgan(name="patchgan_discriminator", conditional=False):
    from keras_styletransfer.models import PatchGANDiscriminator

    return PatchGANDiscriminator(num_layers=1, filters=4, conditional=conditional, name=name)


def tiny_style_generator(num_styles=3):
    from keras_styletransfer.models import StyleGenerator

    return StyleGenerator(num_styles=num_styles, filters=4, num_residual_blocks=1)


def tiny_style_unet(num_styles=2):
    from keras_styletransfer.models.multistyle_paired import StyleUNetGenerator

    return StyleUNetGenerator(num_styles=num_styles, num_downsamplings=2, filters=4, max_filters=8)


def tiny_style_discriminator(num_styles=3):
    from keras_styletransfer.models import GlobalPoolDiscriminator

    return GlobalPoolDiscriminator(num_layers=2, filters=4, num_styles=num_styles)


# --- tiny wrappers and their batches ---------------------------------------------------


def tiny_wrapper(family, seed=0):
    """An uncompiled adversarial wrapper of `family` with tiny networks."""
    from keras_styletransfer import models

    if family == "gan":
        return models.GAN(
            models.MLPGenerator(latent_dim=4, hidden_units=(8,), image_shape=(4, 4, 1)),
            models.MLPDiscriminator(image_shape=(4, 4, 1), hidden_units=(8,)),
            seed=seed,
        )
    if family == "pix2pix":
        return models.Pix2Pix(tiny_unet(), tiny_patchgan(conditional=True), seed=seed)
    if family == "cyclegan":
        return models.CycleGAN(
            tiny_resnet("g_ab"),
            tiny_resnet("g_ba"),
            tiny_patchgan("d_a"),
            tiny_patchgan("d_b"),
            pool_size=2,
            image_shape=(SIZE, SIZE, 3),
            seed=seed,
        )
    if family == "multistyle":
        return models.MultiStyleGAN(
            tiny_style_generator(3), tiny_style_discriminator(3), ["ink", "oil"], seed=seed
        )
    if family == "multistyle_paired":
        from keras_styletransfer.models import PatchGANDiscriminator
        from keras_styletransfer.models.multistyle_paired import PairedMultiStyle

        discriminator = PatchGANDiscriminator(
            num_layers=1, filters=4, conditional=True, condition_channels=5, name="patchgan"
        )
        return PairedMultiStyle(tiny_style_unet(2), discriminator, ["ink", "oil"], seed=seed)
    if family == "cut":
        return models.CUT(
            tiny_resnet("generator"), tiny_patchgan("discriminator"), num_patches=16, seed=seed
        )
    raise ValueError(f"unknown family {family!r}")


FAMILIES = ("gan", "pix2pix", "cyclegan", "multistyle", "multistyle_paired", "cut")


def tiny_batch(family, count=2, seed=0):
    """One batch as `fit` takes it for `family`'s tiny wrapper."""
    if family == "gan":
        return np.random.default_rng(seed).uniform(-1, 1, (count, 4, 4, 1)).astype(np.float32)
    first = random_images(count, seed=seed)
    second = random_images(count, seed=seed + 1)
    if family in ("multistyle", "multistyle_paired"):
        return first, second, (np.arange(count) % 2).astype(np.int32)
    return first, second


# --- every registered class ---------------------------------------------------------------------


def _mixture():
    from keras_styletransfer.models import MixtureGenerator

    return MixtureGenerator([tiny_unet("a"), tiny_unet("b")], mixture_weights=[0.25, 0.75])


def _choose_mixture():
    from keras_styletransfer.models import MixtureGenerator

    return MixtureGenerator(
        [tiny_unet("a"), tiny_unet("b")], discriminator=tiny_patchgan("judge"), mode="choose"
    )


def _style_blend():
    from keras_styletransfer.models import StyleBlendGenerator

    return StyleBlendGenerator(
        tiny_style_generator(3), {"ink": 1, "oil": 1}, ["ink", "oil", "photo"], strength=0.5
    )


def _networks():
    """name -> (builder, input builder) for every registered network (keras.Model)."""
    from keras_styletransfer import models

    image = lambda: random_images(2)  # noqa: E731
    return {
        "MLPGenerator": (
            lambda: models.MLPGenerator(latent_dim=4, hidden_units=(8,), image_shape=(4, 4, 1)),
            lambda: np.ones((2, 4), np.float32),
        ),
        "DCGANGenerator": (
            lambda: models.DCGANGenerator(
                latent_dim=4, base_size=4, base_filters=8, upsampling_filters=(4,)
            ),
            lambda: np.ones((2, 4), np.float32),
        ),
        "MNISTGenerator": (
            lambda: models.MNISTGenerator(latent_dim=4, hidden_units=8),
            lambda: np.ones((2, 4), np.float32),
        ),
        "EncoderDecoderGenerator": (
            lambda: models.EncoderDecoderGenerator(filters=(4, 8)),
            image,
        ),
        "ResnetGenerator": (tiny_resnet, image),
        "FilterGenerator": (lambda: models.FilterGenerator(filters=4, num_layers=2), image),
        "UNetGenerator": (tiny_unet, image),
        "StyleGenerator": (tiny_style_generator, lambda: style_inputs(2, 3)),
        "StyleUNetGenerator": (tiny_style_unet, lambda: style_inputs(2, 2)),
        "StyleFilterGenerator": (
            lambda: models.StyleFilterGenerator(num_styles=3),
            lambda: style_inputs(2, 3),
        ),
        "MLPDiscriminator": (
            lambda: models.MLPDiscriminator(image_shape=(4, 4, 1), hidden_units=(8,)),
            lambda: np.ones((2, 4, 4, 1), np.float32),
        ),
        "DCGANDiscriminator": (
            lambda: models.DCGANDiscriminator(image_shape=(SIZE, SIZE, 3), filters=(4,)),
            image,
        ),
        "MNISTDiscriminator": (
            lambda: models.MNISTDiscriminator(filters=(4, 8)),
            lambda: np.zeros((2, 28, 28, 1), np.float32),
        ),
        "PatchGANDiscriminator": (tiny_patchgan, image),
        "GlobalPoolDiscriminator": (tiny_style_discriminator, image),
        "MixtureGenerator": (_mixture, image),
        "PatchProjection": (
            lambda: models.PatchProjection(channels=(3, 8), units=4),
            lambda: [np.ones((2, 5, 3), np.float32), np.ones((2, 5, 8), np.float32)],
        ),
        "StyleBlendGenerator": (_style_blend, image),
    }


def network_cases():
    """[(class name, builder, inputs builder)] for every registered network class."""
    return [(name, build, inputs) for name, (build, inputs) in _networks().items()]


WRAPPER_CLASSES = {
    "GAN": "gan",
    "Pix2Pix": "pix2pix",
    "CycleGAN": "cyclegan",
    "MultiStyleGAN": "multistyle",
    "PairedMultiStyle": "multistyle_paired",
    "CUT": "cut",
}

# Registered classes that are not models: layers and schedules, tested through the networks that
# use them (named here so the coverage check knows where each is exercised).
COVERED_INSIDE = {
    "ReflectionPadding2D": "ResnetGenerator",
    "GroupNormalization": "ResnetGenerator (its instance norms)",
    "Conv2DTranspose": "UNetGenerator, ResnetGenerator (upsampling), tests/models/test_kernels.py",
    "ImageSizeCheck": "UNetGenerator",
    "StyleConditionedNormalization": "StyleGenerator",
    "StyleAffine": "StyleUNetGenerator",
    "ImagePool": "CycleGAN",
    "WeightedAverage": "MixtureGenerator",
    "ChooseMostReal": "MixtureGenerator (mode='choose')",
    "ConstantRows": "StyleBlendGenerator",
    "ImageOperators": "ResnetGenerator(operators=True), tests/models/test_networks.py",
    "PhotoFilter": "FilterGenerator, tests/models/test_filters.py",
    "LinearDecayAfter": "tests/training/test_translation_training.py (CycleGAN's schedule)",
}


def registered_class_names():
    """Names of every class registered under the package's Keras namespace."""
    import keras

    import keras_styletransfer  # noqa: F401  (registers everything)

    prefix = "keras_styletransfer>"
    return sorted(
        key[len(prefix) :] for key in keras.saving.get_custom_objects() if key.startswith(prefix)
    )
