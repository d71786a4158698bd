"""Named model configurations: the noise GANs, the translation models and their generators.

- `PRESETS` / `get_preset(name)`: noise-to-image GANs with their optimizer settings, named after
  the model (`mlp_gan`, `dcgan64`, `mnist_dcgan`, `mnist_faithful`). The old names
  (`doc000_mlp`, ...) still work for one release, with a `DeprecationWarning`.
- `TRANSLATION_PRESETS` / `get_translation_preset(name_or_family)`: image-to-image wrappers
  (`pix2pix_unet`, `cyclegan_resnet3` (the CycleGAN default), `cyclegan_resnet6`, `cut`,
  `cut_operators`, `fastcut`, `multistyle`, `multistyle_paired`), built uncompiled for a size
  and width.
- `TRANSLATION_GENERATOR_PRESETS` / `build_translation_generator(name)`: the field's standard
  image-to-image generators by name.

Importing this module does not import TensorFlow, so the CLI can check a preset name at once.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Callable

from keras_styletransfer.errors import InputError
from keras_styletransfer.seeding import seeded
from keras_styletransfer.validation import check_int, check_positive_int

# --- noise-to-image GANs --------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Preset:
    """A named noise-to-image GAN with its training defaults.

    Args:
        name: str.
        description: str. One line for `keras-styletransfer presets`.
        generator: str. Class name in `generators`.
        discriminator: str. Class name in `discriminators`.
        generator_kwargs / discriminator_kwargs: dict. Constructor arguments.
        image_shape: tuple (H, W, C). What G makes and D takes.
        offline_data: str. "digits" or "photos64": the embedded data set.
        loss: str. Adversarial loss name.
        learning_rate / beta_1: Adam settings for both networks.
        batch_size: int. Default batch size.
        steps_per_epoch: int. Default steps per epoch (0: one pass over the data).
    """

    name: str
    description: str
    generator: str
    discriminator: str
    image_shape: tuple
    offline_data: str
    generator_kwargs: dict = dataclasses.field(default_factory=dict)
    discriminator_kwargs: dict = dataclasses.field(default_factory=dict)
    loss: str = "non_saturating"
    learning_rate: float = 2e-4
    beta_1: float = 0.5
    batch_size: int = 64
    steps_per_epoch: int = 0

    def build_models(self, seed=None):
        """A new `(generator, discriminator)` pair, its weights drawn from `seed`.

        Args:
            seed: int or None. Built inside `seeding.seeded(seed)`: the same weights as after
                `keras.utils.set_random_seed(seed)`, without changing the caller's random
                state. Defaults to None (random weights).
        """
        from keras_styletransfer.models import discriminators, generators

        with seeded(seed):
            generator = getattr(generators, self.generator)(**self.generator_kwargs)
            discriminator = getattr(discriminators, self.discriminator)(**self.discriminator_kwargs)
        return generator, discriminator


PRESETS = {
    preset.name: preset
    for preset in (
        Preset(
            name="mlp_gan",
            description="MLP GAN 100->256->512->1024->784 (Goodfellow et al.'s fully connected "
            "design), digits 28x28",
            generator="MLPGenerator",
            discriminator="MLPDiscriminator",
            image_shape=(28, 28, 1),
            offline_data="digits",
            # The source names no optimizer; the DCGAN setting is the field's default.
            learning_rate=2e-4,
            beta_1=0.5,
            steps_per_epoch=400,
        ),
        Preset(
            name="dcgan64",
            description="the blog DCGAN at 64x64x3 (Radford et al.'s design), offline photo crops",
            generator="DCGANGenerator",
            discriminator="DCGANDiscriminator",
            image_shape=(64, 64, 3),
            offline_data="photos64",
            # The blog's setting: Adam(1e-4) for each network, Keras' default beta_1.
            learning_rate=1e-4,
            beta_1=0.9,
            batch_size=32,
            steps_per_epoch=100,
        ),
        Preset(
            name="mnist_dcgan",
            description="the MNIST tutorial's discriminator and Adam(1e-4, 0.5), with the blog "
            "DCGAN's generator design at 28x28 (trains to recognisable digits)",
            # The MNIST tutorial's own generator collapses to one image on real digits under every
            # loss and remedy we measured (README, "Digit quality"), its FAQ's batch normalisation
            # included. The generator here is the blog DCGAN's design (project, batch norm,
            # stride-2 transposed convolutions, tanh) sized for 28x28; the discriminator, loss and
            # optimizer are the tutorial's. `mnist_faithful` keeps the tutorial's generator.
            generator="DCGANGenerator",
            discriminator="MNISTDiscriminator",
            image_shape=(28, 28, 1),
            offline_data="digits",
            generator_kwargs={
                "base_size": 7,
                "base_filters": 64,
                "upsampling_filters": (32, 16),
                "channels": 1,
            },
            # The tutorial's Adam(0.0001, 0.5).
            learning_rate=1e-4,
            beta_1=0.5,
            steps_per_epoch=400,
        ),
        Preset(
            name="mnist_faithful",
            description="the MNIST tutorial's GAN as written: Dense 128 -> 784 -> transposed conv "
            "generator (collapses to one image; kept for comparison)",
            generator="MNISTGenerator",
            discriminator="MNISTDiscriminator",
            image_shape=(28, 28, 1),
            offline_data="digits",
            learning_rate=1e-4,
            beta_1=0.5,
            steps_per_epoch=400,
        ),
    )
}

# Old preset names, accepted with a DeprecationWarning until the next release.
DEPRECATED_PRESET_NAMES = {
    "doc000_mlp": "mlp_gan",
    "doc001_dcgan64": "dcgan64",
    "doc002_mnist": "mnist_dcgan",
    "doc002_mnist_faithful": "mnist_faithful",
}


def get_preset(name):
    """The noise preset called `name` (old names warn and give the renamed preset).

    Raises:
        InputError: (a ValueError) for an unknown name; the message lists the valid names.
    """
    if name in DEPRECATED_PRESET_NAMES:
        new_name = DEPRECATED_PRESET_NAMES[name]
        warnings.warn(
            f"the preset name {name!r} is deprecated; use {new_name!r} (the same preset).",
            DeprecationWarning,
            stacklevel=2,
        )
        name = new_name
    if name not in PRESETS:
        raise InputError(f"unknown preset {name!r}; choose one of: {', '.join(sorted(PRESETS))}.")
    return PRESETS[name]


# --- image-to-image generators --------------------------------------------------------------------

# The field's standard image-to-image generators by name: CycleGAN uses resnet6 at 128x128 and
# resnet9 at 256x256; pix2pix uses unet256 (unet128 at 128x128); encoder_decoder is the
# encoder-decoder design of the style-transfer tutorial.
TRANSLATION_GENERATOR_PRESETS = {
    "resnet6": {"cls": "ResnetGenerator", "num_residual_blocks": 6},
    "resnet9": {"cls": "ResnetGenerator", "num_residual_blocks": 9},
    "unet128": {"cls": "UNetGenerator", "num_downsamplings": 7},
    "unet256": {"cls": "UNetGenerator", "num_downsamplings": 8},
    "encoder_decoder": {"cls": "EncoderDecoderGenerator"},
}


def build_translation_generator(name, **overrides):
    """A generator from `TRANSLATION_GENERATOR_PRESETS`, with constructor arguments overridden.

    Args:
        name: str. A key of `TRANSLATION_GENERATOR_PRESETS`.
        **overrides: constructor arguments that replace or add to the preset's.

    Returns:
        The generator (a `ResnetGenerator`, `UNetGenerator` or `EncoderDecoderGenerator`).

    Example:
        >>> generator = build_translation_generator("resnet9", filters=32)
    """
    from keras_styletransfer.models import generators

    if name not in TRANSLATION_GENERATOR_PRESETS:
        raise InputError(
            f"unknown generator preset {name!r}; choose one of "
            f"{', '.join(TRANSLATION_GENERATOR_PRESETS)}."
        )
    arguments = dict(TRANSLATION_GENERATOR_PRESETS[name])
    class_name = arguments.pop("cls")
    if "cls" in overrides:
        raise InputError("`cls` is fixed by the preset; build the class directly to change it.")
    return getattr(generators, class_name)(**{**arguments, **overrides})


# --- image-to-image wrappers ----------------------------------------------------------------------


def _pix2pix_unet(image_size, filters, styles, seed):
    from keras_styletransfer.models.discriminators import PatchGANDiscriminator
    from keras_styletransfer.models.generators import UNetGenerator
    from keras_styletransfer.models.pix2pix import Pix2Pix

    downsamplings = int(math.log2(image_size)) - 2  # the U-Net goes down to 4x4
    # Resize upsampling (new runs; saved models keep the transposed convolutions they were
    # built with): no period-2 checkerboard on the renders.
    return Pix2Pix(
        UNetGenerator(
            num_downsamplings=downsamplings,
            filters=filters,
            max_filters=8 * filters,
            upsampling="resize",
        ),
        PatchGANDiscriminator(
            num_layers=2, filters=filters, conditional=True, norm="batch", name="patchgan"
        ),
        seed=seed,
    )


def _cyclegan(image_size, filters, seed, blocks, **options):
    from keras_styletransfer.models.cyclegan import CycleGAN
    from keras_styletransfer.models.discriminators import PatchGANDiscriminator
    from keras_styletransfer.models.generators import ResnetGenerator

    return CycleGAN(
        ResnetGenerator(num_residual_blocks=blocks, filters=filters, name="g_ab"),
        ResnetGenerator(num_residual_blocks=blocks, filters=filters, name="g_ba"),
        PatchGANDiscriminator(num_layers=2, filters=filters, name="d_a"),
        PatchGANDiscriminator(num_layers=2, filters=filters, name="d_b"),
        image_shape=(image_size, image_size, 3),
        seed=seed,
        **options,
    )


def _cyclegan_resnet6(image_size, filters, styles, seed):
    return _cyclegan(image_size, filters, seed, blocks=6)


def _cyclegan_resnet3(image_size, filters, styles, seed):
    # Chosen by measurement on 2 shared cores (benchmarks/README.md, "Unpaired on a CPU"):
    # 3 blocks take more steps in a budget and scored better than 6; identity 10 beat 5 and 0;
    # no pool scored no worse than 50 (and keeps the step XLA-compilable).
    return _cyclegan(image_size, filters, seed, blocks=3, identity_weight=10.0, pool_size=0)


def _contrastive(image_size, filters, seed, fast, operators=False, residual=False):
    from keras_styletransfer.models.cut import CUT
    from keras_styletransfer.models.discriminators import PatchGANDiscriminator
    from keras_styletransfer.models.generators import ResnetGenerator

    # The reference's settings: CUT = lambda_NCE 1 with the identity NCE; FastCUT = lambda_NCE
    # 10, no identity term, flip equivariance. Resize upsampling: no checkerboard. With
    # `operators` or `residual`, NCE weight 0.25: the best residual CUT's, measured; with
    # `residual`, an R1 penalty of 10 on D, measured better over two seeds (benchmarks/README.md).
    generator = ResnetGenerator(
        6, filters, upsampling="resize", operators=operators, residual=residual, name="g"
    )
    return CUT(
        generator,
        PatchGANDiscriminator(num_layers=2, filters=filters, name="d"),
        nce_weight=10.0 if fast else 0.25 if operators or residual else 1.0,
        nce_identity=not fast,
        flip_equivariance=fast,
        r1_weight=10.0 if residual else 0.0,
        seed=seed,
    )


def _cut(image_size, filters, styles, seed):
    return _contrastive(image_size, filters, seed, fast=False)


def _cut_operators(image_size, filters, styles, seed):
    return _contrastive(image_size, filters, seed, fast=False, operators=True)


def _cut_residual(image_size, filters, styles, seed):
    return _contrastive(image_size, filters, seed, fast=False, residual=True)


def _cut_filter(image_size, filters, styles, seed):
    from keras_styletransfer.models.cut import CUT
    from keras_styletransfer.models.discriminators import PatchGANDiscriminator
    from keras_styletransfer.models.filters import FilterGenerator

    # A learned photo filter, its global settings alone, against CUT's 2-layer PatchGAN; NCE
    # weight 0.25 as the other editing generators. Measured (benchmarks/README.md, "A generator
    # that learns a photo filter"): on watercolour the global filter closed 54% of the SSIM gap
    # in 10 minutes; with a 16-wide per-pixel network beside it, 5%.
    return CUT(
        FilterGenerator(filters=0, name="g"),
        PatchGANDiscriminator(num_layers=2, filters=filters, name="d"),
        nce_weight=0.25,
        seed=seed,
    )


def _fastcut(image_size, filters, styles, seed):
    return _contrastive(image_size, filters, seed, fast=True)


def _multistyle(image_size, filters, styles, seed, multitask=False):
    from keras_styletransfer.models.discriminators import (
        GlobalPoolDiscriminator,
        PatchGANDiscriminator,
    )
    from keras_styletransfer.models.generators import StyleGenerator
    from keras_styletransfer.models.multistyle import MultiStyleGAN

    domains = len(styles) + 1  # the styles and the content domain
    if not multitask:
        return MultiStyleGAN(
            StyleGenerator(num_styles=domains, filters=filters),
            GlobalPoolDiscriminator(filters=filters, num_styles=domains),
            style_names=list(styles),
            seed=seed,
        )
    # StarGAN v2's recipe on a CPU budget: a patch map per domain, R1 on the real images, its
    # cycle weight of 1, and a generator that edits the photo (starts near it) as
    # `cut_operators`' does, upsampling by resizing. Measured (benchmarks/README.md): with
    # StarGAN's cycle weight of 10 this generator never leaves the photo; with transposed
    # convolutions it prints a grid of light dots.
    return MultiStyleGAN(
        StyleGenerator(num_styles=domains, filters=filters, operators=True, upsampling="resize"),
        PatchGANDiscriminator(num_layers=2, filters=filters, num_outputs=domains, name="d"),
        style_names=list(styles),
        cycle_weight=1.0,
        r1_weight=10.0,
        seed=seed,
    )


def _multistyle_multitask(image_size, filters, styles, seed):
    return _multistyle(image_size, filters, styles, seed, multitask=True)


def _multistyle_filter(image_size, filters, styles, seed):
    from keras_styletransfer.models.discriminators import PatchGANDiscriminator
    from keras_styletransfer.models.filters import StyleFilterGenerator
    from keras_styletransfer.models.multistyle import MultiStyleGAN

    # `cut_filter`'s learned photo filter with a row of settings per style, judged by a patch
    # map per domain (StarGAN v2's discriminator). No cycle: a filter cannot undo its
    # outlines, and it keeps the photo's content by construction. An identity term per style
    # (benchmarks/README.md, ninth session; watercolour, oil, pencil together, 10 minutes):
    # without it the oil row greys and steepens its contrast (-58% of the SSIM gap); at 1 for
    # every style oil beats the photo (2%) but watercolour stops drawing outlines (-2%); at
    # 0.2 watercolour rises to 33% and oil stays at -44%. Oil, whose paintings barely differ
    # from the photos, gets 1; every other style 0.2 (both smooth styles then beat the photo).
    domains = len(styles) + 1
    return MultiStyleGAN(
        StyleFilterGenerator(num_styles=domains, name="g"),
        PatchGANDiscriminator(num_layers=2, filters=filters, num_outputs=domains, name="d"),
        style_names=list(styles),
        cycle_weight=0.0,
        identity_weight=[1.0 if style == "oil" else 0.2 for style in styles],
        seed=seed,
    )


# The restoration preset's weight of each task's squared error (`style_weights`): the inverse
# of the degraded inputs' mean squared error on the training crops (64 px, seed 0, on
# [-1, 1]: colourise 0.0525, denoise 0.0202, sr2 0.00585, sr4 0.0207, deblur 0.0169), relative
# to denoising's, so a task whose input is already close (sr2) is not drowned by the others.
# Measured (600 steps, held-out crops): sr2 33.16 -> 34.73 dB, deblur 28.34 -> 29.09 dB.
# The price, measured (4000 steps, 256 px): colourising at 0.38 on top of its quarter share
# casts photos orange (18.23 dB); at 1 it scores 19.11 dB, but sr2 falls back below bicubic
# (32.75 against 32.83 dB, where 0.38 gives 33.27) and denoising loses 0.8 dB.
RESTORATION_LOSS_WEIGHTS = {
    "colourise": 0.38,
    "denoise": 1.0,
    "sr2": 3.45,
    "sr4": 0.98,
    "deblur": 1.19,
}


def _restoration_unet(image_size, filters, styles, seed):
    # Squared error weighing 1000 (pix2pix: L1, 100): restoration is scored by PSNR / SSIM,
    # which the adversarial term does not serve (it stays as a small push against blur), and
    # under L1 the residual generator never left the identity on denoising (measured: 4 epochs
    # of 48 steps, 25.41 -> 25.41 dB with L1, -> 27.34 dB with L2).
    return _multistyle_paired(
        image_size,
        filters,
        styles,
        seed,
        residual=True,
        refine_layers=2,
        l1_weight=1000.0,
        reconstruction="l2",
        style_weights=[RESTORATION_LOSS_WEIGHTS.get(task, 1.0) for task in styles],
    )


def _multistyle_paired(
    image_size,
    filters,
    styles,
    seed,
    residual=False,
    refine_layers=0,
    l1_weight=100.0,
    reconstruction="l1",
    style_weights=None,
):
    from keras_styletransfer.models.discriminators import PatchGANDiscriminator
    from keras_styletransfer.models.multistyle_paired import PairedMultiStyle, StyleUNetGenerator

    if not styles:
        raise InputError("the multistyle_paired preset needs one or more styles.")
    downsamplings = int(math.log2(image_size)) - 2  # the U-Net goes down to 4x4
    return PairedMultiStyle(
        StyleUNetGenerator(
            num_styles=len(styles),
            num_downsamplings=downsamplings,
            filters=filters,
            max_filters=8 * filters,
            upsampling="resize",
            residual=residual,
            refine_layers=refine_layers,
        ),
        # D sees the photo and the style one-hot maps beside the image it judges.
        PatchGANDiscriminator(
            num_layers=2,
            filters=filters,
            conditional=True,
            condition_channels=3 + len(styles),
            norm="batch",
            name="patchgan",
        ),
        style_names=list(styles),
        l1_weight=l1_weight,
        reconstruction=reconstruction,
        style_weights=style_weights,
        seed=seed,
    )


@dataclasses.dataclass(frozen=True)
class TranslationPreset:
    """A named image-to-image model: the family's wrapper with its networks.

    Args:
        name: str.
        family: str. "pix2pix", "cyclegan", "multistyle", "multistyle_paired", "cut" or
            "fastcut".
        description: str. One line for listings.
        builder: callable `(image_size, filters, styles, seed) -> wrapper`.
    """

    name: str
    family: str
    description: str
    builder: Callable = dataclasses.field(repr=False)

    def build(self, image_size, filters, styles=(), seed=None):
        """A new, uncompiled wrapper of this preset, its weights drawn from `seed`.

        Args:
            image_size: int. Side of the square training images (a power of 2 for the U-Net).
            filters: int. Width of the first layer; the networks scale from it.
            styles: sequence of str. The target styles (multistyle and multistyle_paired only;
                ignored otherwise).
            seed: int or None. Weights are drawn inside `seeding.seeded(seed)` and the wrapper
                gets the same seed for its own random stream. Defaults to None.

        Returns:
            A `Pix2Pix`, `CycleGAN`, `MultiStyleGAN`, `PairedMultiStyle` or `CUT`; the caller
            compiles it.
        """
        image_size = check_int(image_size, "image_size", low=8)
        filters = check_positive_int(filters, "filters")
        with seeded(seed):
            return self.builder(image_size, filters, tuple(styles or ()), seed)


TRANSLATION_PRESETS = {
    preset.name: preset
    for preset in (
        TranslationPreset(
            name="pix2pix_unet",
            family="pix2pix",
            description="pix2pix (Isola et al.): U-Net down to 4x4 and a conditional 2-layer "
            "PatchGAN with batch norm",
            builder=_pix2pix_unet,
        ),
        TranslationPreset(
            name="cyclegan_resnet6",
            family="cyclegan",
            description="CycleGAN (Zhu et al.): two 6-block ResNet generators and two 2-layer "
            "PatchGANs",
            builder=_cyclegan_resnet6,
        ),
        TranslationPreset(
            name="cyclegan_resnet3",
            family="cyclegan",
            description="CycleGAN sized for a CPU (the family's default, chosen by measurement): "
            "two 3-block ResNet generators, two 2-layer PatchGANs, identity weight 10, no pool",
            builder=_cyclegan_resnet3,
        ),
        TranslationPreset(
            name="cut",
            family="cut",
            description="CUT (Park et al.): one 6-block ResNet generator (resize upsampling), "
            "a 2-layer PatchGAN, PatchNCE on the generator's encoder with identity NCE",
            builder=_cut,
        ),
        TranslationPreset(
            name="cut_operators",
            family="cut",
            description="CUT whose generator edits the photo (blurs, greying, darkening, "
            "lightening, a coarse colour shift; `ResnetGenerator(operators=True)`), NCE weight "
            "0.25; measured best of the CUTs on pencil and oil (with --generator-average 0.999)",
            builder=_cut_operators,
        ),
        TranslationPreset(
            name="cut_residual",
            family="cut",
            description="CUT whose generator starts as the photo and adds a learned correction "
            "(`ResnetGenerator(residual=True)`), NCE weight 0.25, an R1 penalty of 10 on D; "
            "measured best of the CUTs on watercolour (with --generator-average 0.999)",
            builder=_cut_residual,
        ),
        TranslationPreset(
            name="cut_filter",
            family="cut",
            description="CUT whose generator is a learned photo filter (edge-preserving "
            "smoothing, outlines, greying, paper, a colour grade: a dozen global settings; "
            "`FilterGenerator(filters=0)`), NCE weight 0.25; measured best on watercolour",
            builder=_cut_filter,
        ),
        TranslationPreset(
            name="fastcut",
            family="fastcut",
            description="FastCUT (Park et al.): CUT without the identity NCE, NCE weight 10, "
            "flip equivariance",
            builder=_fastcut,
        ),
        TranslationPreset(
            name="multistyle",
            family="multistyle",
            description="one style-conditioned generator for several styles and a pooled "
            "discriminator with a style head (StarGAN-like)",
            builder=_multistyle,
        ),
        TranslationPreset(
            name="multistyle_multitask",
            family="multistyle",
            description="one generator for several styles that edits the photo (blurs, greying, "
            "darkening; `StyleGenerator(operators=True)`) and StarGAN v2's discriminator: a "
            "PatchGAN map per style and for photos, an R1 penalty of 10, cycle weight 1, resize "
            "upsampling",
            builder=_multistyle_multitask,
        ),
        TranslationPreset(
            name="multistyle_filter",
            family="multistyle",
            description="one learned photo filter per style (`StyleFilterGenerator`: "
            "cut_filter's operators, a row of settings per style, blended by strength) and "
            "StarGAN v2's discriminator (a PatchGAN map per style and for photos), no cycle",
            builder=_multistyle_filter,
        ),
        TranslationPreset(
            name="multistyle_paired",
            family="multistyle_paired",
            description="one style-conditioned U-Net (conditional batch norm, resize upsampling) "
            "for several styles, trained on exact pairs with L1 and a conditional PatchGAN",
            builder=_multistyle_paired,
        ),
        TranslationPreset(
            name="restoration_unet",
            family="multistyle_paired",
            description="multistyle_paired with two full-resolution layers and a residual head "
            "(the untrained generator is the identity), restoration tasks as styles "
            "(train-restore)",
            builder=_restoration_unet,
        ),
    )
}

# Each family's default preset.
FAMILY_DEFAULTS = {
    "pix2pix": "pix2pix_unet",
    "cyclegan": "cyclegan_resnet3",
    "multistyle": "multistyle",
    "multistyle_paired": "multistyle_paired",
    "cut": "cut",
    "fastcut": "fastcut",
}


def get_translation_preset(name_or_family):
    """The translation preset called `name_or_family`, or that family's default preset.

    Raises:
        InputError: (a ValueError) for an unknown name; the message lists the valid names.
    """
    name = FAMILY_DEFAULTS.get(name_or_family, name_or_family)
    if name not in TRANSLATION_PRESETS:
        choices = sorted({*TRANSLATION_PRESETS, *FAMILY_DEFAULTS})
        raise InputError(
            f"unknown translation preset {name_or_family!r}; choose one of: {', '.join(choices)}."
        )
    return TRANSLATION_PRESETS[name]
