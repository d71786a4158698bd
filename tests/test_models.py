"""The documents' generators and discriminators: shapes, fidelity, configs and .keras files."""

import keras
import numpy as np
import pytest

from keras_styletransfer.models import discriminators, generators
from keras_styletransfer.models.presets import PRESETS, get_preset
from tests.helpers import config_round_trip, keras_round_trip

PAIRS = {
    "doc000": (generators.MLPGenerator, discriminators.MLPDiscriminator),
    "doc001": (generators.DCGANGenerator, discriminators.DCGANDiscriminator),
    "doc002": (generators.MNISTGenerator, discriminators.MNISTDiscriminator),
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
    faithful = get_preset("doc002_mnist_faithful")
    assert (faithful.generator, faithful.generator_kwargs) == ("MNISTGenerator", {})


def test_doc002_preset_keeps_the_documents_discriminator_and_optimizer():
    preset = get_preset("doc002_mnist")
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
        (generators.MLPGenerator, {"latent_dim": 0}, "positive integer"),
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
    assert get_preset("doc002_mnist").learning_rate == 1e-4  # document 002's Adam(1e-4, 0.5)
    with pytest.raises(ValueError, match="doc000_mlp, doc001_dcgan64, doc002_mnist"):
        get_preset("doc009")
