"""The noise GANs' networks and the presets: shapes, fidelity, configs and .keras files."""

import keras
import numpy as np
import pytest

from keras_styletransfer.models import discriminators, generators
from keras_styletransfer.models.presets import PRESETS, get_preset
from tests.testing import assert_weights_equal, config_round_trip, keras_round_trip, weights_of

PAIRS = {
    "mlp": (generators.MLPGenerator, discriminators.MLPDiscriminator),
    "dcgan": (generators.DCGANGenerator, discriminators.DCGANDiscriminator),
    "mnist": (generators.MNISTGenerator, discriminators.MNISTDiscriminator),
}


@pytest.mark.parametrize("document", sorted(PAIRS))
def test_generator_output_shape_equals_discriminator_input_shape(document):
    generator_class, discriminator_class = PAIRS[document]
    generator, discriminator = generator_class(), discriminator_class()
    noise = np.random.default_rng(0).normal(size=(3, generator.latent_dim)).astype("float32")
    images = np.asarray(generator(noise))
    assert images.shape[1:] == tuple(discriminator.inputs[0].shape[1:]) == generator.image_shape
    assert np.asarray(discriminator(images)).shape == (3, 1)
    assert images.min() >= -1.0 and images.max() <= 1.0


def test_document_002_generator_makes_28x28_not_56x56():
    generator = generators.MNISTGenerator()
    assert tuple(generator.outputs[0].shape[1:]) == (28, 28, 1)
    # The document's widths: Dense 128 relu, Dense 784 relu, LeakyReLU(0.2), transposed conv.
    assert generator.get_layer("dense1").units == 128
    assert generator.get_layer("dense2").units == 784
    assert generator.get_layer("lrelu").negative_slope == pytest.approx(0.2)
    up = generator.get_layer("up")
    assert (up.filters, up.kernel_size, up.strides) == (1, (5, 5), (2, 2))


def test_document_002_batch_norm_option_follows_its_faq_and_is_off_by_default():
    plain = generators.MNISTGenerator()
    assert not any(isinstance(layer, keras.layers.BatchNormalization) for layer in plain.layers)
    normalised = generators.MNISTGenerator(batch_norm=True)
    assert normalised.get_layer("dense1").units == 128 and normalised.get_layer("dense1_bn")
    assert normalised.get_layer("dense2").units == 784 and normalised.get_layer("dense2_bn")
    assert tuple(normalised.outputs[0].shape[1:]) == (28, 28, 1)
    faithful = get_preset("mnist_faithful")
    assert (faithful.generator, faithful.generator_kwargs) == ("MNISTGenerator", {})


def test_mnist_dcgan_preset_keeps_the_tutorials_discriminator_and_optimizer():
    preset = get_preset("mnist_dcgan")
    generator, discriminator = preset.build_models()
    assert isinstance(discriminator, discriminators.MNISTDiscriminator)
    assert (preset.learning_rate, preset.beta_1) == (1e-4, 0.5)
    # Document 001's generator design: batch-normalised stride-2 transposed convolutions.
    assert isinstance(generator, generators.DCGANGenerator)
    assert generator.get_layer("up1").strides == (2, 2) and generator.get_layer("up1_bn")


def test_document_000_widths_and_sigmoid_kept_with_output_in_tanh_range():
    generator = generators.MLPGenerator()
    widths = [generator.get_layer(f"dense{i}").units for i in (1, 2, 3)]
    assert widths == [256, 512, 1024]
    assert generator.get_layer("dense_out").units == 784
    assert generator.get_layer("dense_out").activation.__name__ == "sigmoid"
    discriminator = discriminators.MLPDiscriminator()
    assert [discriminator.get_layer(f"dense{i}").units for i in (1, 2, 3)] == [1024, 512, 256]


def test_document_001_generator_completes_the_upsampling_to_64():
    generator = generators.DCGANGenerator()
    assert generator.get_layer("project").units == 8 * 8 * 256
    assert generator.get_layer("project").use_bias is False
    assert tuple(generator.get_layer("to_feature_map").output.shape[1:]) == (8, 8, 256)
    sizes = [generator.get_layer(f"up{i}").output.shape[1] for i in (1, 2, 3)]
    assert sizes == [16, 32, 64]
    assert generator.get_layer("to_rgb").activation.__name__ == "tanh"


@pytest.mark.parametrize(
    "discriminator_class",
    [
        discriminators.MLPDiscriminator,
        discriminators.DCGANDiscriminator,
        discriminators.MNISTDiscriminator,
    ],
)
def test_discriminators_output_unbounded_logits_not_probabilities(discriminator_class):
    # Document 001 fed sigmoid outputs to a from_logits=True loss; ours end in a linear layer.
    discriminator = discriminator_class()
    assert discriminator.get_layer("logit").activation.__name__ == "linear"
    shape = discriminator.inputs[0].shape[1:]
    images = np.full((2, *shape), 1.0, dtype="float32")
    kernel, bias = discriminator.get_layer("logit").get_weights()
    discriminator.get_layer("logit").set_weights([np.abs(kernel) * 100, bias + 5.0])
    assert float(np.asarray(discriminator(images)).max()) > 1.0


@pytest.mark.parametrize("document", sorted(PAIRS))
def test_config_and_keras_round_trips(document, tmp_path):
    for model_class in PAIRS[document]:
        model = model_class()
        rebuilt, config = config_round_trip(model)
        assert rebuilt.get_config() == config
        reloaded = keras_round_trip(model, tmp_path, f"{model.name}.keras")
        assert type(reloaded) is model_class
        inputs = np.random.default_rng(0).normal(size=(2, *model.inputs[0].shape[1:]))
        np.testing.assert_array_equal(
            np.asarray(model(inputs.astype("float32"))),
            np.asarray(reloaded(inputs.astype("float32"))),
        )


def test_layer_outputs_are_reachable_for_explainers():
    generator = generators.MNISTGenerator()
    probe = keras.Model(generator.input, generator.get_layer("to_feature_map").output)
    assert probe(np.zeros((1, 100), "float32")).shape == (1, 14, 14, 4)


@pytest.mark.parametrize(
    ("model_class", "kwargs", "message"),
    [
        (generators.MNISTGenerator, {"image_size": 27}, "even"),
        (generators.MLPGenerator, {"latent_dim": 0}, "latent_dim must be an integer >= 1"),
        (generators.DCGANGenerator, {"upsampling_filters": "abc"}, "sequence of ints"),
        (discriminators.MNISTDiscriminator, {"dropout": 1.5}, r"\[0, 1\)"),
    ],
)
def test_bad_constructor_arguments_are_explained(model_class, kwargs, message):
    with pytest.raises((ValueError, TypeError), match=message):
        model_class(**kwargs)


def test_presets_build_matching_pairs_and_unknown_names_list_choices():
    for preset in PRESETS.values():
        generator, discriminator = preset.build_models()
        assert tuple(generator.outputs[0].shape[1:]) == preset.image_shape
        assert tuple(discriminator.inputs[0].shape[1:]) == preset.image_shape
    assert get_preset("mnist_dcgan").learning_rate == 1e-4  # the tutorial's Adam(1e-4, 0.5)
    with pytest.raises(ValueError, match="dcgan64, mlp_gan, mnist_dcgan, mnist_faithful"):
        get_preset("doc009")


# --- preset names -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old_name", "new_name"),
    [
        ("doc000_mlp", "mlp_gan"),
        ("doc001_dcgan64", "dcgan64"),
        ("doc002_mnist", "mnist_dcgan"),
        ("doc002_mnist_faithful", "mnist_faithful"),
    ],
)
def test_old_preset_names_warn_and_give_the_renamed_preset(old_name, new_name):
    assert set(PRESETS) == {"mlp_gan", "dcgan64", "mnist_dcgan", "mnist_faithful"}
    with pytest.warns(DeprecationWarning, match=f"{old_name!r} is deprecated; use {new_name!r}"):
        preset = get_preset(old_name)
    assert preset is PRESETS[new_name] and preset.name == new_name


def test_preset_texts_do_not_point_at_documents_users_do_not_have():
    for preset in PRESETS.values():
        assert "document" not in preset.description.lower(), preset.name


def test_preset_build_models_is_seeded_like_set_random_seed_without_its_side_effects():
    import random

    preset = get_preset("mlp_gan")
    keras.utils.set_random_seed(5)
    expected = [weights_of(model) for model in preset.build_models()]
    random.seed(99)
    state = random.getstate()
    first = [weights_of(model) for model in preset.build_models(seed=5)]
    assert random.getstate() == state
    second = [weights_of(model) for model in preset.build_models(seed=5)]
    for want, got, again in zip(expected, first, second, strict=True):
        assert_weights_equal(want, got)
        assert_weights_equal(got, again)


def test_seeded_leaves_python_random_and_keras_global_seed_state_unchanged():
    import random

    from keras.src.backend.common import global_state
    from keras.src.random import seed_generator
    from keras.src.utils.rng_utils import GLOBAL_RANDOM_SEED

    from keras_styletransfer.seeding import seeded

    keras.utils.set_random_seed(21)
    keras.random.normal((2,))  # the global SeedGenerator now exists and has moved
    python_state = random.getstate()
    global_seed = global_state.get_global_attribute(GLOBAL_RANDOM_SEED)
    generator = seed_generator.global_seed_generator()
    generator_state = np.array(generator.state.numpy())
    with seeded(3):
        generators.MLPGenerator(latent_dim=4)
        keras.random.normal((2,))
        random.random()
    assert random.getstate() == python_state
    assert global_state.get_global_attribute(GLOBAL_RANDOM_SEED) == global_seed
    assert seed_generator.global_seed_generator() is generator
    np.testing.assert_array_equal(generator.state.numpy(), generator_state)
    with seeded(None):  # None changes nothing
        random.random()
    assert random.getstate() != python_state  # ... not even the caller's own draws


# --- translation presets ------------------------------------------------------------------------


def test_translation_presets_build_todays_architectures_uncompiled():
    from keras_styletransfer.models.cyclegan import CycleGAN
    from keras_styletransfer.models.multistyle import MultiStyleGAN
    from keras_styletransfer.models.multistyle_paired import PairedMultiStyle, StyleUNetGenerator
    from keras_styletransfer.models.pix2pix import Pix2Pix
    from keras_styletransfer.models.presets import TRANSLATION_PRESETS, get_translation_preset

    assert set(TRANSLATION_PRESETS) == {
        "pix2pix_unet",
        "cyclegan_resnet6",
        "cyclegan_resnet3",
        "multistyle",
        "multistyle_multitask",  # not a default (tests/models/test_translation_wrappers.py)
        "multistyle_filter",  # tests/models/test_filters.py
        "multistyle_paired",
        "cut",
        "cut_operators",  # not a default: `TranslationConfig.preset` (tests/models/test_cut.py)
        "cut_residual",
        "cut_filter",  # tests/models/test_filters.py
        "fastcut",
        "restoration_unet",
    }
    for family, name in [
        ("pix2pix", "pix2pix_unet"),
        ("cyclegan", "cyclegan_resnet3"),
        ("multistyle", "multistyle"),
        ("multistyle_paired", "multistyle_paired"),
        ("cut", "cut"),
        ("fastcut", "fastcut"),
    ]:
        preset = get_translation_preset(family)
        assert preset is get_translation_preset(name) and preset.family == family
        assert "document" not in preset.description.lower()

    pix2pix = get_translation_preset("pix2pix").build(32, 4, seed=0)
    assert isinstance(pix2pix, Pix2Pix) and pix2pix.generator_optimizer is None
    assert isinstance(pix2pix.generator, generators.UNetGenerator)
    unet = pix2pix.generator.get_config()
    assert (unet["num_downsamplings"], unet["filters"], unet["max_filters"]) == (3, 4, 32)
    assert unet["upsampling"] == "resize"  # new runs; saved models keep their transpose layers
    patch = pix2pix.discriminator
    assert isinstance(patch, discriminators.PatchGANDiscriminator) and patch.name == "patchgan"
    patch_config = patch.get_config()
    assert (patch_config["num_layers"], patch_config["filters"]) == (2, 4)
    assert patch_config["conditional"] is True and patch_config["norm"] == "batch"
    assert pix2pix.seed == 0

    cyclegan = get_translation_preset("cyclegan_resnet6").build(16, 4, seed=1)
    assert isinstance(cyclegan, CycleGAN) and cyclegan.image_shape == (16, 16, 3)
    for role, name in [("generator_ab", "g_ab"), ("generator_ba", "g_ba")]:
        network = cyclegan.networks[role]
        assert isinstance(network, generators.ResnetGenerator) and network.name == name
        assert network.get_config()["num_residual_blocks"] == 6
        assert network.get_config()["filters"] == 4
    for role, name in [("discriminator_a", "d_a"), ("discriminator_b", "d_b")]:
        network = cyclegan.networks[role]
        assert isinstance(network, discriminators.PatchGANDiscriminator) and network.name == name
        assert network.get_config()["num_layers"] == 2
        assert network.get_config()["conditional"] is False
    # The family's default is sized for a CPU by measurement (benchmarks/README.md).
    default = get_translation_preset("cyclegan").build(16, 4, seed=1)
    assert default.generator_ab.get_config()["num_residual_blocks"] == 3
    assert (default.identity_weight, default.pool_size, default.cycle_weight) == (10.0, 0, 10.0)

    multistyle = get_translation_preset("multistyle").build(16, 4, ("pencil", "cartoon"), 2)
    assert isinstance(multistyle, MultiStyleGAN) and multistyle.style_names == ["pencil", "cartoon"]
    assert isinstance(multistyle.generator, generators.StyleGenerator)
    assert multistyle.generator.get_config()["num_styles"] == 3
    assert multistyle.discriminator.get_config()["num_styles"] == 3

    paired = get_translation_preset("multistyle_paired").build(64, 4, ("pencil", "cartoon"), 3)
    assert isinstance(paired, PairedMultiStyle) and paired.style_names == ["pencil", "cartoon"]
    assert paired.generator_style_names == ["pencil", "cartoon"]  # no content slot
    generator = paired.generator.get_config()
    assert isinstance(paired.generator, StyleUNetGenerator)
    assert generator["num_styles"] == 2 and generator["num_downsamplings"] == 4  # 64 -> 4x4
    assert (generator["upsampling"], generator["norm"]) == ("resize", "batch")
    patch_config = paired.discriminator.get_config()
    assert patch_config["conditional"] is True and patch_config["condition_channels"] == 5
    assert (patch_config["num_layers"], patch_config["norm"]) == (2, "batch")
    with pytest.raises(ValueError, match="one or more styles"):
        get_translation_preset("multistyle_paired").build(64, 4, ())

    with pytest.raises(ValueError, match=r"unknown translation preset 'stargan'.*cyclegan"):
        get_translation_preset("stargan")
    with pytest.raises(ValueError, match="image_size"):
        get_translation_preset("pix2pix").build(4, 4)


def test_translation_presets_are_seeded_like_set_random_seed():
    from keras_styletransfer.models.discriminators import PatchGANDiscriminator
    from keras_styletransfer.models.presets import get_translation_preset

    keras.utils.set_random_seed(4)
    # Today's architecture, built after a global reseed: the weights the run used to get.
    unet = generators.UNetGenerator(
        num_downsamplings=2, filters=4, max_filters=32, upsampling="resize"
    )
    patch = PatchGANDiscriminator(
        num_layers=2, filters=4, conditional=True, norm="batch", name="patchgan"
    )
    built = get_translation_preset("pix2pix").build(16, 4, seed=4)
    assert_weights_equal(weights_of(unet), weights_of(built.generator))
    assert_weights_equal(weights_of(patch), weights_of(built.discriminator))
    again = get_translation_preset("pix2pix").build(16, 4, seed=4)
    assert_weights_equal(weights_of(built), weights_of(again))


# --- the model contract, on every family --------------------------------------------------------


def _family_models_and_batches():
    """A tiny model of each family and one batch as `fit` receives it."""
    from keras_styletransfer.models.gan import GAN
    from keras_styletransfer.models.presets import get_translation_preset

    rng = np.random.default_rng(0)

    def pictures(count=4, size=16, channels=3):
        return rng.uniform(-1, 1, (count, size, size, channels)).astype("float32")

    gan = GAN(
        generators.DCGANGenerator(
            latent_dim=8, base_size=4, base_filters=8, upsampling_filters=(4,), channels=1
        ),
        discriminators.DCGANDiscriminator(image_shape=(8, 8, 1), filters=(4, 8)),
        seed=0,
    )
    styles = ("pencil", "cartoon")
    return {
        "gan": (gan, pictures(size=8, channels=1)),
        "pix2pix": (
            get_translation_preset("pix2pix").build(16, 4, seed=0),
            (pictures(), pictures()),
        ),
        "cyclegan": (
            get_translation_preset("cyclegan").build(16, 4, seed=0),
            (pictures(), pictures()),
        ),
        "multistyle": (
            get_translation_preset("multistyle").build(16, 4, styles, seed=0),
            (pictures(), pictures(), np.array([0, 1, 0, 1], "int32")),
        ),
        "multistyle_paired": (
            get_translation_preset("multistyle_paired").build(16, 4, styles, seed=0),
            (pictures(), pictures(), np.array([0, 1, 0, 1], "int32")),
        ),
    }


FAMILIES = ("gan", "pix2pix", "cyclegan", "multistyle", "multistyle_paired")


@pytest.fixture(scope="module")
def family_models():
    return _family_models_and_batches()


@pytest.mark.parametrize("family", FAMILIES)
def test_every_family_keeps_the_model_contract(family, family_models):
    import tensorflow as tf

    model, data = family_models[family]
    assert model.family == family
    assert list(model.networks) == list(model.network_roles)
    assert model.generator_networks() + model.discriminator_networks() == list(
        model.networks.values()
    )
    # The primary networks of each direction.
    if family == "cyclegan":
        assert model.directions == ("AB", "BA")
        assert model.primary_generator() is model.generator_ab
        assert model.primary_generator("AB") is model.generator_ab
        assert model.primary_generator("BA") is model.generator_ba
        assert model.primary_discriminator("AB") is model.discriminator_b
        assert model.primary_discriminator("BA") is model.discriminator_a
    else:
        assert model.directions == (None,)
        assert model.primary_generator() is model.generator
        assert model.primary_discriminator() is model.discriminator
    with pytest.raises(ValueError, match="directions"):
        model.primary_generator("XY")

    batch = model.unpack_batch(data)
    assert tuple(batch) == tuple(model.batch_keys)
    probe = model.probe_batch(data, size=3, seed=0)
    assert tuple(probe) == tuple(model.batch_keys)
    assert all(isinstance(value, np.ndarray) and len(value) == 3 for value in probe.values())
    # A probe is fixed: the same call gives the same arrays (fixed noise for a noise GAN).
    again = model.probe_batch(data, size=3, seed=0)
    for key in probe:
        np.testing.assert_array_equal(probe[key], again[key])

    terms = model.compute_losses(**batch)
    assert isinstance(terms, dict) and {"g_loss", "d_loss"} <= set(terms)
    count = len(next(iter(batch.values())))
    assert tuple(terms["g_loss"].shape) == (count,) == tuple(terms["d_loss"].shape)

    fakes = model.fake_logits(probe)
    assert isinstance(fakes, list) and len(fakes) == len(model.directions)
    assert all(logits.dtype == tf.float32 for logits in fakes)
    for direction in model.directions:
        logits = model.discriminator_logits(probe[model.real_image_key], probe, direction)
        assert logits.dtype == tf.float32 and int(logits.shape[0]) == 3
    images, verdict = model.real_verdict(probe)
    assert verdict.dtype == tf.float32 and tuple(verdict.shape) == (3,)
    assert tuple(images.shape) == tuple(probe[model.real_image_key].shape)
    generated = model.generate(probe)
    assert tuple(generated.shape[1:]) == tuple(probe[model.real_image_key].shape[1:])


@pytest.mark.parametrize("family", FAMILIES)
def test_every_family_config_round_trips_through_the_generic_config(family, family_models):
    model, _ = family_models[family]
    rebuilt, config = config_round_trip(model)
    assert set(model.network_roles) <= set(config)
    assert type(rebuilt) is type(model) and rebuilt.get_config() == config


def check_preset_contract(model):
    """The model contract and the generic config round trip for one preset's image-to-image
    model (CUT / CycleGAN: a batch of photos and paintings; MultiStyleGAN: with style
    indices), as the family fixtures are checked."""
    rng = np.random.default_rng(0)
    data = tuple(rng.uniform(-1, 1, (4, 16, 16, 3)).astype("float32") for _ in range(2))
    if model.family == "multistyle":
        data = (*data, np.array([0, 1, 0, 1], "int32"))
    models = {model.family: (model, data)}
    test_every_family_keeps_the_model_contract(model.family, models)
    test_every_family_config_round_trips_through_the_generic_config(model.family, models)
    return data


@pytest.mark.slow
def test_a_fresh_process_loads_every_family_after_importing_the_package(family_models, tmp_path):
    import os
    import subprocess
    import sys

    from keras_styletransfer.models import composite

    paths = {}
    for family, (model, _) in family_models.items():
        paths[type(model).__name__] = str(tmp_path / f"{family}.keras")
        model.save(paths[type(model).__name__])
    style_model = family_models["multistyle"][0]
    blend = composite.StyleBlendGenerator(
        style_model.generator, {"pencil": 1, "cartoon": 1}, style_model.domain_names
    )
    paths["StyleBlendGenerator"] = str(tmp_path / "blend.keras")
    blend.save(paths["StyleBlendGenerator"])
    mixture = composite.MixtureGenerator(
        [family_models["pix2pix"][0].generator, family_models["cyclegan"][0].generator_ab]
    )
    paths["MixtureGenerator"] = str(tmp_path / "mixture.keras")
    mixture.save(paths["MixtureGenerator"])
    script = (
        "import sys, keras, keras_styletransfer\n"
        "for path in sys.argv[1:]:\n"
        "    print(type(keras.saving.load_model(path)).__name__)\n"
    )
    environment = {k: v for k, v in os.environ.items() if k != "KERAS_STYLETRANSFER_LAZY"}
    environment.update(KERAS_BACKEND="tensorflow", TF_CPP_MIN_LOG_LEVEL="3")
    result = subprocess.run(
        [sys.executable, "-c", script, *paths.values()],
        capture_output=True,
        text=True,
        env=environment,
        cwd=str(tmp_path),
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.split() == list(paths)
