"""Image-to-image networks: any size, receptive fields, configs, .keras files, style control."""

import keras
import numpy as np
import pytest

from keras_styletransfer.layers import ReflectionPadding2D, StyleConditionedNormalization
from keras_styletransfer.models.discriminators import (
    GlobalPoolDiscriminator,
    PatchGANDiscriminator,
)
from keras_styletransfer.models.generators import (
    EncoderDecoderGenerator,
    ResnetGenerator,
    StyleGenerator,
    UNetGenerator,
    check_image_size,
)
from tests.helpers import config_round_trip, keras_round_trip


def images(height, width, batch=1, seed=0):
    rng = np.random.default_rng(seed)
    return rng.uniform(-1, 1, (batch, height, width, 3)).astype("float32")


@pytest.mark.parametrize(
    ("generator", "sizes"),
    [
        (EncoderDecoderGenerator(filters=(4, 8, 8, 8)), [(16, 16), (32, 48)]),
        (ResnetGenerator(num_residual_blocks=2, filters=4), [(16, 16), (20, 36)]),
        (UNetGenerator(num_downsamplings=4, filters=4, max_filters=8), [(16, 16), (32, 48)]),
    ],
    ids=["encoder_decoder", "resnet", "unet"],
)
def test_generators_keep_any_allowed_size_and_round_trip(generator, sizes, tmp_path):
    for height, width in sizes:
        output = generator(images(height, width), training=False)
        assert tuple(output.shape) == (1, height, width, 3)
        assert float(np.abs(output).max()) <= 1.0
    restored = keras_round_trip(generator, tmp_path)
    x = images(*sizes[-1], seed=1)
    np.testing.assert_allclose(restored(x), generator(x), atol=1e-5)
    clone, config = config_round_trip(generator)
    assert clone.get_config() == config


def test_document_003_decoder_now_returns_the_input_size_and_sizes_are_checked():
    generator = EncoderDecoderGenerator(filters=(4, 8, 8, 8))
    assert generator.size_multiple == 16
    assert generator.get_layer("encode4").strides == (2, 2)
    assert isinstance(generator.get_layer("decode1"), keras.layers.Conv2DTranspose)
    check_image_size(generator, 32, 48)
    with pytest.raises(ValueError, match="multiples of 16; received 30x48"):
        check_image_size(generator, 30, 48)
    assert UNetGenerator(num_downsamplings=5, filters=4, max_filters=8).size_multiple == 32


def test_resnet_generator_uses_reflection_padding_and_instance_norm():
    generator = ResnetGenerator(num_residual_blocks=6, filters=4)
    kinds = {type(layer).__name__ for layer in generator.layers}
    assert {"ReflectionPadding2D", "GroupNormalization"} <= kinds
    assert (
        len([name for name in (layer.name for layer in generator.layers) if name.endswith("_add")])
        == 6
    )
    padded = ReflectionPadding2D(2)(np.arange(9, dtype="float32").reshape(1, 3, 3, 1))
    assert padded.shape == (1, 7, 7, 1)
    assert float(padded[0, 0, 2, 0]) == 6.0  # row 2, column 0 mirrored into the corner: not zero


def test_patchgan_receptive_fields_shapes_and_the_conditional_pair():
    assert [PatchGANDiscriminator(num_layers=n, filters=4).receptive_field for n in (1, 2, 3)] == [
        16,
        34,
        70,
    ]
    patch = PatchGANDiscriminator(num_layers=3, filters=4)
    assert tuple(patch(images(64, 96)).shape) == (1, 8, 12, 1)
    conditional = PatchGANDiscriminator(num_layers=2, filters=4, conditional=True, norm="batch")
    assert [t.name for t in conditional.inputs] == ["condition", "image"]
    assert tuple(conditional([images(32, 32), images(32, 32)]).shape) == (1, 8, 8, 1)
    with pytest.raises(ValueError, match="'batch' or 'instance'"):
        PatchGANDiscriminator(norm="layer")


def test_global_pool_discriminator_with_a_style_head(tmp_path):
    plain = GlobalPoolDiscriminator(num_layers=2, filters=4)
    assert tuple(plain(images(32, 48)).shape) == (1, 1)
    styled = GlobalPoolDiscriminator(num_layers=2, filters=4, num_styles=4)
    adversarial, style = styled(images(32, 32, batch=2))
    assert tuple(adversarial.shape) == (2, 1) and tuple(style.shape) == (2, 4)
    assert styled.get_layer("style_logits").units == 4
    restored = keras_round_trip(styled, tmp_path)
    x = images(32, 32, seed=3)
    np.testing.assert_allclose(restored(x)[1], styled(x)[1], atol=1e-5)


def style_inputs(style, strength, x):
    return {
        "image": x,
        "style": np.asarray([style], "float32"),
        "strength": np.asarray([[strength]], "float32"),
    }


def perturbed_style_generator():
    generator = StyleGenerator(num_styles=3, filters=4, num_residual_blocks=1)
    rng = np.random.default_rng(0)
    for layer in generator.layers:  # trained-looking style tables instead of the zero start
        if isinstance(layer, StyleConditionedNormalization):
            layer.gamma_table.assign(rng.normal(0, 0.5, layer.gamma_table.shape))
            layer.beta_table.assign(rng.normal(0, 0.5, layer.beta_table.shape))
    return generator


def test_style_generator_strength_zero_is_the_photo_and_strength_is_continuous():
    generator = perturbed_style_generator()
    x = images(16, 16)
    np.testing.assert_array_equal(generator(style_inputs([1, 0, 0], 0.0, x)), x)
    full = generator(style_inputs([1, 0, 0], 1.0, x)).numpy()
    assert np.abs(full - x).mean() > 0.05
    half = generator(style_inputs([1, 0, 0], 0.5, x)).numpy()
    nearby = generator(style_inputs([1, 0, 0], 0.49, x)).numpy()
    assert np.abs(half - nearby).max() < 0.05 * np.abs(full - x).max()
    distances = [
        np.abs(generator(style_inputs([1, 0, 0], s, x)).numpy() - x).mean()
        for s in (0.0, 0.25, 0.5, 0.75, 1.0)
    ]
    assert distances == sorted(distances)


def test_style_generator_blends_styles_and_round_trips(tmp_path):
    generator = perturbed_style_generator()
    x = images(16, 16)
    first = generator(style_inputs([1, 0, 0], 1.0, x)).numpy()
    second = generator(style_inputs([0, 1, 0], 1.0, x)).numpy()
    blend = generator(style_inputs([0.5, 0.5, 0], 1.0, x)).numpy()
    assert np.abs(blend - first).mean() > 1e-3 and np.abs(blend - second).mean() > 1e-3
    assert generator.style_count == 3 and generator.size_multiple == 4
    restored = keras_round_trip(generator, tmp_path)
    np.testing.assert_allclose(
        restored(style_inputs([0, 0, 1], 0.7, x)),
        generator(style_inputs([0, 0, 1], 0.7, x)),
        atol=1e-5,
    )


def test_layer_outputs_are_reachable_by_name_for_explainers():
    generator = ResnetGenerator(num_residual_blocks=2, filters=4)
    inner = keras.Model(generator.input, generator.get_layer("res2_add").output)
    assert tuple(inner(images(16, 16)).shape) == (1, 4, 4, 16)
    patch = PatchGANDiscriminator(num_layers=2, filters=4)
    assert patch.get_layer("conv3_lrelu").output is not None


def test_named_generator_presets():
    from keras_styletransfer.models.generators import build_translation_generator

    resnet9 = build_translation_generator("resnet9", filters=4)
    assert sum(layer.name.endswith("_add") for layer in resnet9.layers) == 9
    assert build_translation_generator("unet256", filters=4, max_filters=8).size_multiple == 256
    with pytest.raises(ValueError, match="unknown generator preset 'resnet12'"):
        build_translation_generator("resnet12")
