"""Training workloads: W1 (CycleGAN, reference nets), W1b (train-style defaults), W3 (pix2pix),
W5 (DCGAN against the documents' loop). Each returns a list of case records."""

from __future__ import annotations

import numpy as np

from benchmarks.cases import add_torch_peer, fit_step, function_step, measure_case
from benchmarks.flops import forward_flops, step_flops
from benchmarks.protocol import Contender


def _images(seed, shape):
    import tensorflow as tf

    rng = np.random.default_rng(seed)
    return tf.constant(rng.uniform(-1, 1, shape).astype(np.float32))


def _adam():
    import keras

    return keras.optimizers.Adam(2e-4, beta_1=0.5)


# --- W1 / W1b: CycleGAN -----------------------------------------------------------------------


def _our_cyclegan(size, filters, blocks, d_layers, jit_compile):
    from keras_styletransfer.models.cyclegan import CycleGAN
    from keras_styletransfer.models.discriminators import PatchGANDiscriminator
    from keras_styletransfer.models.generators import ResnetGenerator
    from keras_styletransfer.seeding import seeded

    with seeded(0):
        model = CycleGAN(
            ResnetGenerator(num_residual_blocks=blocks, filters=filters, name="g_ab"),
            ResnetGenerator(num_residual_blocks=blocks, filters=filters, name="g_ba"),
            PatchGANDiscriminator(num_layers=d_layers, filters=filters, name="d_a"),
            PatchGANDiscriminator(num_layers=d_layers, filters=filters, name="d_b"),
            image_shape=(size, size, 3),
            seed=0,
        )
    extra = {} if jit_compile is None else {"jit_compile": jit_compile}
    model.compile(generator_optimizer=_adam(), discriminator_optimizer=_adam(), **extra)
    return model


def cyclegan_flops(model, size, batch_size):
    """Our step: six generator calls and two discriminator calls in G's update, four
    discriminator calls in D's update (real and pooled fake, per domain); two fewer without a
    pool, where D's update reuses the fakes' logits (`CycleGAN._judges_fakes_once`)."""
    shape = (batch_size, size, size, 3)
    generator = forward_flops(model.generator_ab, shape)
    discriminator = forward_flops(model.discriminator_a, shape)
    judged = 4 if model._judges_fakes_once() else 6
    return step_flops(differentiated=[(generator, 6), (discriminator, judged)])


def _xla_setting(model):
    return "fit, XLA" if model.jit_compile else "fit, no XLA"


def _bfloat16():
    """Builds inside this context use Keras's "mixed_bfloat16" policy (bfloat16 compute,
    float32 weights): the `--mixed-precision mixed_bfloat16` of the training commands."""
    from keras_styletransfer.distribute import mixed_precision

    return mixed_precision("mixed_bfloat16")


BF16_NOTE = (
    "*_bf16 contenders: the same step under Keras's mixed_bfloat16 policy (bfloat16 compute, "
    "float32 weights; `--mixed-precision mixed_bfloat16`), timed only on CPUs with bfloat16 "
    "instructions; FLOPs counted as for float32, so their 'of peak' is against the float32 peak."
)


def w1(settings, log):
    from benchmarks.peers import kerasio_cyclegan

    cfg = settings["w1"]
    size, batch_size = cfg["size"], cfg["batch_size"]
    shape = (batch_size, size, size, 3)
    batch = (_images(1, shape), _images(2, shape))
    contenders, notes, skipped = [], [], []
    for name, jit in (("ours", None), ("ours_xla", True)):
        if jit and not settings["xla"]:
            continue
        model = _our_cyclegan(size, cfg["filters"], cfg["blocks"], cfg["d_layers"], jit)
        run = fit_step(model, batch)
        contenders.append(
            Contender(
                name,
                run,
                cyclegan_flops(model, size, batch_size),
                "ours",
                _xla_setting(model),
                batch_size,
            )
        )
    for name, jit in (("keras_io", False), ("keras_io_xla", True)):
        if jit and not settings["xla"]:
            continue
        peer = kerasio_cyclegan.build(
            size, cfg["filters"], cfg["blocks"], cfg["d_layers"], jit_compile=jit
        )
        contenders.append(
            Contender(
                name,
                fit_step(peer, batch),
                kerasio_cyclegan.flops(peer, size, batch_size),
                "peer",
                "keras-io structure, fit" + (", XLA" if jit else ""),
                batch_size,
            )
        )
    if settings.get("bf16"):
        with _bfloat16():
            model = _our_cyclegan(size, cfg["filters"], cfg["blocks"], cfg["d_layers"], None)
            peer = kerasio_cyclegan.build(
                size, cfg["filters"], cfg["blocks"], cfg["d_layers"], jit_compile=False
            )
        contenders += [
            Contender(
                "ours_bf16",
                fit_step(model, batch),
                cyclegan_flops(model, size, batch_size),
                "ours",
                "fit, no XLA, mixed_bfloat16",
                batch_size,
            ),
            Contender(
                "keras_io_bf16",
                fit_step(peer, batch),
                kerasio_cyclegan.flops(peer, size, batch_size),
                "peer",
                "keras-io structure, fit, mixed_bfloat16",
                batch_size,
            ),
        ]
        notes.append(BF16_NOTE)
    add_torch_peer(
        contenders,
        skipped,
        "CycleGANStep",
        (size, cfg["filters"], cfg["blocks"]),
        contenders[0].flops,
        "PyTorch reference structure, eager",
        batch_size,
    )
    notes.append(
        "FLOPs per contender by the forward rule: ours 6 G + 6 D calls (D judged again in its "
        "own update, on pooled fakes), keras-io 6 G + 4 D (one D output serves both losses)."
    )
    return [measure_case("W1 CycleGAN step", contenders, settings, log, notes, skipped, cfg)]


def w1b(settings, log):
    from keras_styletransfer.config import TranslationConfig

    defaults = TranslationConfig(family="cyclegan")
    cfg = dict(settings["w1b"])
    size = cfg.get("size") or defaults.image_size
    filters = cfg.get("filters") or defaults.filters
    batch_size = cfg.get("batch_size") or defaults.batch_size
    cfg.update(size=size, filters=filters, batch_size=batch_size)
    shape = (batch_size, size, size, 3)
    batch = (_images(3, shape), _images(4, shape))
    from keras_styletransfer.models.presets import get_translation_preset

    contenders = []
    for name, jit in (("ours", None), ("ours_xla", True)):
        if jit and not settings["xla"]:
            continue
        model = get_translation_preset("cyclegan").build(size, filters, seed=0)
        extra = {} if jit is None else {"jit_compile": jit}
        model.compile(generator_optimizer=_adam(), discriminator_optimizer=_adam(), **extra)
        contenders.append(
            Contender(
                name,
                fit_step(model, batch),
                cyclegan_flops(model, size, batch_size),
                "ours",
                _xla_setting(model),
                batch_size,
            )
        )
    for family in ("cut", "fastcut"):  # one generator and one D: no XLA contender
        model = get_translation_preset(family).build(size, filters, seed=0)
        model.compile(generator_optimizer=_adam(), discriminator_optimizer=_adam())
        contenders.append(
            Contender(family, fit_step(model, batch), None, "ours", _xla_setting(model), batch_size)
        )
    notes = [
        f"train-style defaults: the cyclegan, cut and fastcut presets, {size} px, {filters} "
        f"filters, batch {batch_size}; CUT's FLOPs are not counted (its PatchNCE passes run "
        "parts of the generator)."
    ]
    return [
        measure_case("W1b train-style unpaired steps", contenders, settings, log, notes, [], cfg)
    ]


# --- W3: pix2pix --------------------------------------------------------------------------------


def _our_pix2pix(size, filters, downsamplings, jit_compile):
    from keras_styletransfer.models.discriminators import PatchGANDiscriminator
    from keras_styletransfer.models.generators import UNetGenerator
    from keras_styletransfer.models.pix2pix import Pix2Pix
    from keras_styletransfer.seeding import seeded

    with seeded(0):
        model = Pix2Pix(
            UNetGenerator(
                num_downsamplings=downsamplings, filters=filters, max_filters=8 * filters
            ),
            PatchGANDiscriminator(num_layers=3, filters=filters, conditional=True, norm="batch"),
            seed=0,
        )
    extra = {} if jit_compile is None else {"jit_compile": jit_compile}
    model.compile(generator_optimizer=_adam(), discriminator_optimizer=_adam(), **extra)
    return model


def pix2pix_flops(model, size, batch_size):
    """Our step: G once, D on the real pair and the fake pair (its update) and on the fake pair
    again (G's update), all differentiated."""
    shape = (batch_size, size, size, 3)
    generator = forward_flops(model.generator, shape)
    discriminator = forward_flops(model.discriminator, [shape, shape])
    return step_flops(differentiated=[(generator, 1), (discriminator, 3)])


def w3(settings, log):
    from benchmarks.peers import tf_pix2pix

    cfg = settings["w3"]
    size, batch_size = cfg["size"], cfg["batch_size"]
    shape = (batch_size, size, size, 3)
    source, target = _images(5, shape), _images(6, shape)
    contenders, skipped = [], []
    for name, jit in (("ours", None), ("ours_xla", True)):
        if jit and not settings["xla"]:
            continue
        model = _our_pix2pix(size, cfg["filters"], cfg["downsamplings"], jit)
        contenders.append(
            Contender(
                name,
                fit_step(model, (source, target)),
                pix2pix_flops(model, size, batch_size),
                "ours",
                _xla_setting(model),
                batch_size,
            )
        )
    for name, jit in (("tf_tutorial", False), ("tf_tutorial_xla", True)):
        if jit and not settings["xla"]:
            continue
        peer = tf_pix2pix.TutorialPix2Pix(size, cfg["filters"], cfg["downsamplings"], jit)
        contenders.append(
            Contender(
                name,
                function_step(peer.train_step, source, target),
                peer.flops(size, batch_size),
                "peer",
                "TF tutorial structure, tf.function" + (", XLA" if jit else ""),
                batch_size,
            )
        )
    if settings.get("bf16"):
        with _bfloat16():
            model = _our_pix2pix(size, cfg["filters"], cfg["downsamplings"], None)
            peer = tf_pix2pix.TutorialPix2Pix(size, cfg["filters"], cfg["downsamplings"], False)
        contenders += [
            Contender(
                "ours_bf16",
                fit_step(model, (source, target)),
                pix2pix_flops(model, size, batch_size),
                "ours",
                "fit, no XLA, mixed_bfloat16",
                batch_size,
            ),
            Contender(
                "tf_tutorial_bf16",
                function_step(peer.train_step, source, target),
                peer.flops(size, batch_size),
                "peer",
                "TF tutorial structure, tf.function, mixed_bfloat16",
                batch_size,
            ),
        ]
    add_torch_peer(
        contenders,
        skipped,
        "Pix2PixStep",
        (size, cfg["filters"], cfg["downsamplings"]),
        contenders[0].flops,
        "PyTorch reference structure, eager",
        batch_size,
    )
    notes = [
        "FLOPs: ours G + 3 D calls (D judges the fake pair again in G's update), the "
        "tutorial G + 2 D (one D output serves both losses)."
    ]
    if settings.get("bf16"):
        notes.append(BF16_NOTE)
    return [measure_case("W3 pix2pix step", contenders, settings, log, notes, skipped, cfg)]


# --- W5: DCGAN against the documents' loop ------------------------------------------------------


def w5(settings, log):
    from benchmarks.peers.documents_dcgan import DocumentsLoop
    from keras_styletransfer.models.presets import get_preset
    from keras_styletransfer.training.noise import build_gan

    cfg = settings["w5"]
    preset = get_preset(cfg["preset"])
    batch_size = cfg["batch_size"]
    real = _images(7, (batch_size, *preset.image_shape))
    contenders = []
    for name, jit in (("ours", None), ("ours_xla", True)):
        if jit and not settings["xla"]:
            continue
        gan = build_gan(preset, seed=0)
        if jit:
            import keras

            gan.compile(
                generator_optimizer=keras.optimizers.Adam(preset.learning_rate, preset.beta_1),
                discriminator_optimizer=keras.optimizers.Adam(preset.learning_rate, preset.beta_1),
                jit_compile=True,
            )
        latent = int(gan.generator.inputs[0].shape[-1])
        generator = forward_flops(gan.generator, (batch_size, latent))
        discriminator = forward_flops(gan.discriminator, (batch_size, *preset.image_shape))
        flops = step_flops(
            differentiated=[(discriminator, 3), (generator, 1)], forward_only=[(generator, 1)]
        )
        contenders.append(
            Contender(name, fit_step(gan, real), flops, "ours", _xla_setting(gan), batch_size)
        )
    generator, discriminator = preset.build_models(seed=0)
    loop = DocumentsLoop(generator, discriminator, preset.learning_rate, preset.beta_1)
    real_array = real.numpy()
    contenders.append(
        Contender(
            "documents_loop",
            lambda: loop.step(real_array),
            loop.flops(preset.image_shape, batch_size),
            "peer",
            "predict + 3 train_on_batch per step",
            batch_size,
        )
    )
    notes = [
        "Both do G forward once for D's update, D on real and fake, then G + D; the "
        "documents' loop does it from Python with four Keras calls per step."
    ]
    return [measure_case("W5 DCGAN step", contenders, settings, log, notes, (), cfg)]
