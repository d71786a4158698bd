"""Image-to-image networks: any size, receptive fields, configs, .keras files, style control."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_styletransfer.kernels import portable_ops
from keras_styletransfer.layers import (
    ImageSizeCheck,
    ReflectionPadding2D,
    StyleConditionedNormalization,
    instance_norm,
)
from keras_styletransfer.models.discriminators import (
    GlobalPoolDiscriminator,
    PatchGANDiscriminator,
    patch_receptive_field,
)
from keras_styletransfer.models.generators import (
    EncoderDecoderGenerator,
    ResnetGenerator,
    StyleGenerator,
    UNetGenerator,
    check_image_size,
)
from keras_styletransfer.models.presets import (
    TRANSLATION_GENERATOR_PRESETS,
    build_translation_generator,
)
from tests.testing import assert_weights_equal, config_round_trip, keras_round_trip, weights_of


def images(height, width, batch=1, seed=0, channels=3):
    rng = np.random.default_rng(seed)
    return rng.uniform(-1, 1, (batch, height, width, channels)).astype("float32")


# --- generators: sizes, files, configs --------------------------------------------------------


@pytest.mark.parametrize(
    ("build", "sizes"),
    [
        (lambda: EncoderDecoderGenerator(filters=(4, 8, 8, 8)), [(16, 16), (32, 48)]),
        (lambda: ResnetGenerator(num_residual_blocks=2, filters=4), [(16, 16), (20, 36)]),
        (
            lambda: UNetGenerator(num_downsamplings=5, filters=4, max_filters=8),
            [(32, 32), (32, 64)],
        ),
    ],
    ids=["encoder_decoder", "resnet", "unet"],
)
def test_generators_keep_any_allowed_size_and_round_trip(build, sizes, tmp_path):
    generator = build()
    for height, width in sizes:
        output = generator(images(height, width, batch=2), training=False)
        assert tuple(output.shape) == (2, height, width, 3)
        assert float(np.abs(output).max()) <= 1.0
    restored = keras_round_trip(generator, tmp_path)
    assert type(restored) is type(generator)
    assert restored.size_multiple == generator.size_multiple
    assert_weights_equal(weights_of(generator), weights_of(restored))
    x = images(*sizes[-1], seed=1)
    np.testing.assert_array_equal(restored(x, training=False), generator(x, training=False))
    clone, config = config_round_trip(generator)
    assert clone.get_config() == config
    assert len(clone.weights) == len(generator.weights)


def test_document_003_decoder_now_returns_the_input_size():
    generator = EncoderDecoderGenerator(filters=(4, 8, 8, 8))
    # The document's decoder downsampled again; the fixed one returns the input's size.
    assert tuple(generator(images(32, 48)).shape) == (1, 32, 48, 3)
    assert generator.size_multiple == 16
    assert [generator.get_layer(f"encode{i}").strides for i in range(1, 5)] == [(2, 2)] * 4
    upsamplings = [
        layer.name
        for layer in generator.layers
        if isinstance(layer, keras.layers.Conv2DTranspose) and layer.strides == (2, 2)
    ]
    assert upsamplings == ["decode1", "decode2", "decode3", "to_image"]
    assert [generator.get_layer(f"decode{i}").filters for i in (1, 2, 3)] == [8, 8, 4]
    # The document's 3-channel tanh bottleneck, as an option.
    squeezed = EncoderDecoderGenerator(filters=(4, 8, 8, 8), bottleneck_channels=3)
    code = keras.Model(squeezed.input, squeezed.get_layer("bottleneck").output)(images(32, 48))
    assert tuple(code.shape) == (1, 2, 3, 3) and float(np.abs(code).max()) <= 1.0
    assert tuple(squeezed(images(32, 48)).shape) == (1, 32, 48, 3)
    assert config_round_trip(squeezed)[0].get_config()["bottleneck_channels"] == 3


def test_sizes_that_are_not_multiples_of_the_stride_are_rejected_clearly():
    encoder_decoder = EncoderDecoderGenerator(filters=(4, 4, 4, 4))
    check_image_size(encoder_decoder, 32, 48)
    with pytest.raises(ValueError, match="multiples of 16; received 30x48"):
        check_image_size(encoder_decoder, 30, 48)
    resnet = ResnetGenerator(num_residual_blocks=1, filters=4)
    # Without the check, 18x18 would silently come out 20x20.
    with pytest.raises(ValueError, match="multiples of 4; received 18x18"):
        resnet(images(18, 18))
    unet = UNetGenerator(num_downsamplings=5, filters=4, max_filters=8)
    assert unet.size_multiple == 32
    with pytest.raises(ValueError, match="multiples of 32; received 48x32"):
        unet(images(48, 32), training=False)
    # With sizes unknown at trace time (serving signatures) the check costs nothing.
    serve = tf.function(
        lambda x: resnet(x, training=False),
        input_signature=[tf.TensorSpec((None, None, None, 3), tf.float32)],
    )
    assert tuple(serve(images(12, 8)).shape) == (1, 12, 8, 3)
    assert ImageSizeCheck.from_config(ImageSizeCheck(8).get_config()).multiple == 8


def test_resnet_generator_uses_reflection_padding_and_instance_norm():
    generator = ResnetGenerator(num_residual_blocks=6, filters=4)
    kinds = {type(layer).__name__ for layer in generator.layers}
    assert {"ReflectionPadding2D", "GroupNormalization"} <= kinds
    assert "BatchNormalization" not in kinds
    assert sum(layer.name.endswith("_add") for layer in generator.layers) == 6
    assert generator.get_layer("stem_conv").kernel_size == (7, 7)
    assert generator.get_layer("down2").filters == 16 and generator.get_layer("up2").filters == 4
    x = np.arange(12, dtype="float32").reshape(1, 3, 4, 1)
    padded = ReflectionPadding2D(2)(x).numpy()
    np.testing.assert_array_equal(padded, np.pad(x, [(0, 0), (2, 2), (2, 2), (0, 0)], "reflect"))
    layer = ReflectionPadding2D.from_config(ReflectionPadding2D(3).get_config())
    assert layer.padding == 3
    with pytest.raises(ValueError, match="needs height and width > 3"):
        layer(x)


def test_a_residual_resnet_generator_starts_as_the_identity_and_learns_a_correction():
    generator = ResnetGenerator(num_residual_blocks=1, filters=4, residual=True)
    photo = images(16, 12)
    # Untrained: the photo itself (the correction's kernel is zero), where the plain head
    # returns a tanh of random features.
    np.testing.assert_allclose(generator(photo).numpy(), photo, atol=1e-6)
    plain = ResnetGenerator(num_residual_blocks=1, filters=4)
    assert np.abs(plain(photo).numpy() - photo).mean() > 0.1
    assert generator.get_layer("to_image").name == "to_image"
    assert generator.get_layer("correction").kernel_size == (7, 7)
    # With a correction pushing every pixel up, the output is clipped at 1, never above.
    head = generator.get_layer("correction")
    head.bias.assign(np.full(3, 3.0, "float32"))
    out = generator(photo).numpy()
    assert out.max() <= 1.0 and np.isclose(out.max(), 1.0)
    np.testing.assert_allclose(out, np.minimum(photo + np.tanh(3.0), 1.0), atol=1e-5)
    twin = ResnetGenerator.from_config(generator.get_config())
    assert twin.get_config()["residual"] is True
    with pytest.raises(ValueError, match="`residual` must be True or False"):
        ResnetGenerator(num_residual_blocks=1, filters=4, residual="yes")


def test_a_resnet_generator_without_down_sampling_works_at_full_resolution_at_any_size():
    from keras_styletransfer.models.cut import default_nce_layers

    generator = ResnetGenerator(
        num_residual_blocks=1, filters=4, num_downsamplings=0, residual=True
    )
    assert generator.size_multiple == 1
    assert not [layer.name for layer in generator.layers if layer.name.startswith(("down", "up"))]
    photo = images(13, 11)  # a stride-2 generator refuses these sizes
    np.testing.assert_allclose(generator(photo).numpy(), photo, atol=1e-6)
    features = keras.Model(generator.inputs, generator.get_layer("res1_add").output)
    assert features(photo).shape == (1, 13, 11, 4)  # no stage below the image's resolution
    # PatchNCE compares the stem's features where other generators have down-sampling ones.
    assert default_nce_layers(generator) == ("check_size", "stem_relu", "res1_add")
    assert ResnetGenerator.from_config(generator.get_config()).size_multiple == 1
    with pytest.raises(ValueError, match="num_downsamplings must be an integer >= 0"):
        ResnetGenerator(num_residual_blocks=1, filters=4, num_downsamplings=-1)


def test_an_operator_resnet_generator_edits_the_photo_with_blurs_lines_and_paper(tmp_path):
    import cv2

    from keras_styletransfer.layers import ImageOperators

    generator = ResnetGenerator(num_residual_blocks=1, filters=4, operators=True)
    rng = np.random.default_rng(0)
    photo = cv2.GaussianBlur(rng.uniform(0, 1, (20, 24, 3)).astype("float32"), (0, 0), 2)
    batch = (photo * 2 - 1)[None]
    # Untrained: nearly the photo (weight 0.99 on it, 0.25% on each other operator).
    start = generator(batch).numpy()
    assert np.abs(start - batch).mean() < 0.01
    assert np.abs(start - batch).mean() > 0  # the operators are live, not bypassed
    layer = generator.get_layer("to_image")
    assert isinstance(layer, ImageOperators) and layer.sigmas == (1.0, 2.0, 4.0)

    def run(logits, shift=0.0):  # one operator switched fully on through its logit
        maps = np.full((1, 20, 24, layer.num_maps), -30.0, "float32")
        for channel, value in logits.items():
            maps[..., channel] = value
        shifts = np.full((1, 20, 24, 3), shift, "float32")
        return (layer([batch, maps, shifts]).numpy()[0] + 1) / 2

    np.testing.assert_allclose(run({0: 30.0}), photo, atol=1e-5)
    # The second weight picks the sigma-1 blur: the Gaussian, mirrored at the borders.
    blurred = cv2.GaussianBlur(photo, (7, 7), 1.0, borderType=cv2.BORDER_REFLECT)
    np.testing.assert_allclose(run({1: 30.0}), blurred, atol=1e-4)
    luminance = photo @ np.array([0.299, 0.587, 0.114], "float32")
    greyed = np.repeat(luminance[..., None], 3, -1)  # to float32 rounding (CPUs sum differently)
    np.testing.assert_allclose(run({0: 30.0, 4: 30.0}), greyed, atol=1e-6)
    np.testing.assert_allclose(run({0: 30.0, 5: 0.0}), photo / 2, atol=1e-5)  # half darker
    np.testing.assert_allclose(run({0: 30.0, 6: 30.0}), np.ones_like(photo), atol=1e-5)
    np.testing.assert_allclose(run({0: 30.0}, shift=0.2), np.minimum(photo + 0.1, 1), atol=1e-5)
    # Any size the strides allow, traced once for unknown sizes (as `Stylizer` serves it);
    # the .keras file keeps the operators.
    spec = tf.TensorSpec([None, None, None, 3])
    traced = tf.function(lambda x: generator(x), input_signature=[spec])
    assert traced(images(12, 28)).shape == (1, 12, 28, 3)
    restored = keras_round_trip(generator, tmp_path)
    np.testing.assert_allclose(restored(batch).numpy(), start, atol=1e-6)
    assert ResnetGenerator.from_config(generator.get_config()).get_config()["operators"] is True
    with pytest.raises(ValueError, match="choose one head"):
        ResnetGenerator(num_residual_blocks=1, filters=4, residual=True, operators=True)
    # The multi-style generator's styled image can be the same operators, blended by strength.
    styled = StyleGenerator(num_styles=2, filters=4, num_residual_blocks=1, operators=True)
    assert isinstance(styled.get_layer("styled"), ImageOperators)
    inputs = {"image": batch, "style": np.array([[1.0, 0.0]], "float32")}
    at = {strength: np.array([[strength]], "float32") for strength in (0.0, 1.0)}
    np.testing.assert_array_equal(styled({**inputs, "strength": at[0.0]}).numpy(), batch)
    assert np.abs(styled({**inputs, "strength": at[1.0]}).numpy() - batch).mean() < 0.01
    assert StyleGenerator.from_config(styled.get_config()).get_config()["operators"] is True
    with pytest.raises(ValueError, match="`sigmas` must be positive"):
        ImageOperators(sigmas=(0.0,))


# --- normalisation layers -------------------------------------------------------------------------


def test_instance_norm_trains_through_the_fused_kernel_with_keras_group_norm_numbers(tmp_path):
    # Our GroupNormalization runs instance norm's training pass through the fused batch-norm
    # kernel; values and gradients must be Keras's own, for any batch, and the weights must
    # load from and into a plain keras.layers.GroupNormalization (same stored names).
    features = tf.constant(images(7, 5, batch=3, channels=4) * 3.0 + 1.0)
    ours, theirs = instance_norm("norm"), keras.layers.GroupNormalization(groups=-1, epsilon=1e-5)
    ours.build(features.shape), theirs.build(features.shape)
    rng = np.random.default_rng(1)
    theirs.set_weights([rng.normal(size=4).astype("float32") for _ in range(2)])
    ours.set_weights(theirs.get_weights())
    weight = tf.constant(rng.normal(size=features.shape).astype("float32"))
    results = []
    for layer in (ours, theirs):
        with tf.GradientTape() as tape:
            tape.watch(features)
            output = layer(features, training=True)
            loss = tf.reduce_sum(output * output * weight)
        grads = tape.gradient(loss, [features, *layer.trainable_variables])
        results.append([output.numpy(), *(g.numpy() for g in grads)])
    for mine, keras_own in zip(*results, strict=True):
        np.testing.assert_allclose(mine, keras_own, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(ours(features), theirs(features), rtol=1e-4, atol=1e-5)

    def op_types(training):
        graph = tf.function(lambda x: ours(x, training=training)).get_concrete_function(features)
        return {op.type for op in graph.graph.get_operations()}

    assert "FusedBatchNormV3" in op_types(True) and "FusedBatchNormV3" in op_types(False)
    with portable_ops():  # what the TFLite exporter traces: Keras's formula, to the bit
        assert "FusedBatchNormV3" not in op_types(False)
        np.testing.assert_array_equal(ours(features).numpy(), theirs(features).numpy())
    assert "FusedBatchNormV3" in op_types(False)
    model = keras.Sequential([keras.Input((7, 5, 4)), theirs])
    model.save_weights(tmp_path / "keras.weights.h5")
    twin = keras.Sequential([keras.Input((7, 5, 4)), instance_norm("norm")])
    twin.load_weights(tmp_path / "keras.weights.h5")
    for loaded, saved in zip(twin.get_weights(), model.get_weights(), strict=True):
        np.testing.assert_array_equal(loaded, saved)


@pytest.mark.parametrize("batch", [1, 2])
def test_instance_norm_gives_the_same_numbers_whether_sizes_are_known_or_not(batch):
    # Sizes known at tracing time stay Python ints, and one image needs no laying side by side
    # (no transposes, no tiling: half the ops of a CycleGAN step's graph); unknown sizes take
    # the general path. Values and gradients must be the same on both, and Keras's own.
    features = tf.constant(images(6, 5, batch=batch, channels=3) * 2.0 - 0.5)
    ours = instance_norm("norm")
    theirs = keras.layers.GroupNormalization(groups=-1, epsilon=1e-5)
    ours.build(features.shape), theirs.build(features.shape)
    rng = np.random.default_rng(batch)
    theirs.set_weights([rng.normal(size=3).astype("float32") for _ in range(2)])
    ours.set_weights(theirs.get_weights())

    def output_and_gradient(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = ours(x, training=True)
            loss = tf.reduce_sum(y * y * tf.range(1.0, 4.0))
        return y, tape.gradient(loss, x)

    known = tf.function(output_and_gradient).get_concrete_function(features)
    unknown = tf.function(output_and_gradient).get_concrete_function(
        tf.TensorSpec([None, None, None, 3], tf.float32)
    )
    op_types = {op.type for op in known.graph.get_operations()}
    assert ("Transpose" in op_types) == (batch > 1) and ("Shape" not in op_types)
    assert "Transpose" in {op.type for op in unknown.graph.get_operations()}
    for a, b in zip(known(features), unknown(features), strict=True):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(
        known(features)[0].numpy(), theirs(features).numpy(), rtol=1e-4, atol=1e-5
    )


@pytest.mark.parametrize("policy", ["mixed_bfloat16", "mixed_float16"])
def test_instance_norm_fused_path_under_mixed_precision(policy):
    # The fused kernel takes half-precision images with float32 scale and offset; the result
    # stays in the compute dtype and follows the float32 layer to half-precision rounding.
    features = tf.constant(images(9, 7, batch=2, channels=6) * 3.0 + 1.0)
    reference = instance_norm("norm")
    expected = reference(features, training=True).numpy()
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(policy)
    try:
        layer = instance_norm("norm")
        with tf.GradientTape() as tape:
            output = layer(features, training=True)
            loss = tf.reduce_sum(tf.cast(output, tf.float32) ** 3)
        grads = tape.gradient(loss, layer.trainable_variables)
    finally:
        keras.mixed_precision.set_global_policy(previous)
    assert output.dtype == policy.split("_")[1] and layer.gamma.dtype == "float32"
    np.testing.assert_allclose(output.numpy().astype("float32"), expected, atol=0.05)
    assert all(np.isfinite(g.numpy()).all() for g in grads)


def test_instance_norm_and_style_conditioned_normalisation():
    features = images(8, 6, batch=2, channels=5) * 3.0 + 1.0
    normalised = instance_norm("norm")(features).numpy()
    np.testing.assert_allclose(normalised.mean(axis=(1, 2)), 0.0, atol=1e-5)
    np.testing.assert_allclose(normalised.std(axis=(1, 2)), 1.0, atol=1e-3)

    layer = StyleConditionedNormalization(3)
    one_hot = np.asarray([[0, 1, 0], [0, 0, 1]], "float32")
    # Zero tables: plain instance norm for every condition.
    np.testing.assert_allclose(layer([features, one_hot]), normalised, atol=1e-4)
    rng = np.random.default_rng(0)
    gamma, beta = rng.normal(size=(3, 5)), rng.normal(size=(3, 5))
    layer.gamma_table.assign(gamma)
    layer.beta_table.assign(beta)
    expected = normalised * (1 + gamma[[1, 2]])[:, None, None] + beta[[1, 2]][:, None, None]
    np.testing.assert_allclose(layer([features, one_hot]), expected, atol=1e-4)
    blend = np.asarray([[0.5, 0.5, 0]] * 2, "float32")
    mixed = normalised * (1 + gamma[:2].mean(0)) + beta[:2].mean(0)
    np.testing.assert_allclose(layer([features, blend]), mixed, atol=1e-4)
    zero = np.zeros((2, 3), "float32")
    np.testing.assert_allclose(layer([features, zero]), normalised, atol=1e-4)

    clone = StyleConditionedNormalization.from_config(layer.get_config())
    assert (clone.num_styles, clone.epsilon) == (3, 1e-5)
    with pytest.raises(ValueError, match="num_styles=4 weights per example"):
        StyleConditionedNormalization(4)([features, one_hot])


# --- discriminators -----------------------------------------------------------------------------


def test_patchgan_receptive_field_is_read_off_the_layers_and_matches_the_gradients():
    for num_layers, field in ((1, 16), (2, 34), (3, 70)):
        patch = PatchGANDiscriminator(num_layers=num_layers, filters=2, norm="batch")
        assert patch.receptive_field == patch_receptive_field(num_layers) == field
        # The input pixels that move one interior logit span exactly the receptive field.
        x = tf.constant(images(128, 128))
        with tf.GradientTape() as tape:
            tape.watch(x)
            logits = patch(x, training=False)
            row, column = logits.shape[1] // 2, logits.shape[2] // 2
            centre = logits[0, row, column, 0]
        touched = np.abs(tape.gradient(centre, x).numpy()[0]).sum(axis=-1) > 0
        rows, columns = np.flatnonzero(touched.any(1)), np.flatnonzero(touched.any(0))
        assert rows[-1] - rows[0] + 1 == field and columns[-1] - columns[0] + 1 == field


def test_patchgan_shapes_and_the_conditional_pair(tmp_path):
    patch = PatchGANDiscriminator(num_layers=3, filters=4)
    assert tuple(patch(images(64, 96, batch=2)).shape) == (2, 8, 12, 1)
    assert "conv1_norm" not in [layer.name for layer in patch.layers]
    assert patch.get_layer("conv4").strides == (1, 1) and patch.get_layer("conv4").filters == 32
    conditional = PatchGANDiscriminator(num_layers=2, filters=4, conditional=True, norm="batch")
    assert [t.name for t in conditional.inputs] == ["condition", "image"]
    assert conditional.receptive_field == 34
    pair = [images(32, 48, seed=1), images(32, 48, seed=2)]
    as_list = conditional(pair, training=False)
    assert tuple(as_list.shape) == (1, 8, 12, 1)
    as_dict = conditional({"image": pair[1], "condition": pair[0]}, training=False)
    np.testing.assert_array_equal(as_list, as_dict)
    swapped = conditional(pair[::-1], training=False)
    assert not np.allclose(as_list, swapped)  # the condition and the image are told apart
    restored = keras_round_trip(conditional, tmp_path)
    np.testing.assert_array_equal(restored(pair, training=False), as_list)
    assert restored.get_config() == conditional.get_config()
    assert restored.receptive_field == 34


def test_global_pool_discriminator_with_a_style_head(tmp_path):
    plain = GlobalPoolDiscriminator(num_layers=2, filters=4)
    assert len(plain.outputs) == 1
    assert tuple(plain(images(32, 48)).shape) == (1, 1)
    styled = GlobalPoolDiscriminator(num_layers=2, filters=4, num_styles=4)
    adversarial, style = styled(images(32, 32, batch=2))
    assert tuple(adversarial.shape) == (2, 1) and tuple(style.shape) == (2, 4)
    assert styled.output_names == ["adversarial_logits", "style_logits"]
    assert styled.get_layer("style_logits").units == 4
    assert isinstance(styled.get_layer("pool"), keras.layers.GlobalAveragePooling2D)
    restored = keras_round_trip(styled, tmp_path)
    x = images(32, 32, seed=3)
    for before, after in zip(styled(x), restored(x), strict=True):
        np.testing.assert_array_equal(after, before)


# --- the multi-style generator ------------------------------------------------------------------


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
    styled = keras.Model(generator.inputs, generator.get_layer("styled").output)
    np.testing.assert_allclose(full, styled(style_inputs([1, 0, 0], 1.0, x)), atol=1e-6)
    assert np.abs(full - x).mean() > 0.05
    assert float(np.abs(full).max()) <= 1.0
    half = generator(style_inputs([1, 0, 0], 0.5, x)).numpy()
    nearby = generator(style_inputs([1, 0, 0], 0.49, x)).numpy()
    assert np.abs(half - nearby).max() < 0.05 * np.abs(full - x).max()
    distances = [
        np.abs(generator(style_inputs([1, 0, 0], s, x)).numpy() - x).mean()
        for s in (0.0, 0.25, 0.5, 0.75, 1.0)
    ]
    assert distances == sorted(distances) and distances[0] == 0.0


def test_style_generator_blends_styles_and_takes_dicts_or_lists(tmp_path):
    generator = perturbed_style_generator()
    assert [t.name for t in generator.inputs] == ["image", "style", "strength"]
    x = images(16, 16)
    first = generator(style_inputs([1, 0, 0], 1.0, x)).numpy()
    second = generator(style_inputs([0, 1, 0], 1.0, x)).numpy()
    blend = generator(style_inputs([0.5, 0.5, 0], 1.0, x)).numpy()
    assert np.abs(first - second).mean() > 1e-2
    assert np.abs(blend - first).mean() > 1e-3 and np.abs(blend - second).mean() > 1e-3
    assert generator.style_count == 3 and generator.size_multiple == 4

    inputs = style_inputs([0.2, 0, 0.8], 0.7, x)
    as_dict = generator(inputs).numpy()
    as_list = generator([inputs["image"], inputs["style"], inputs["strength"]]).numpy()
    np.testing.assert_array_equal(as_list, as_dict)
    predicted = generator.predict([inputs["image"], inputs["style"], inputs["strength"]], verbose=0)
    # predict traces a graph for an unknown batch, which TensorFlow fuses and orders otherwise
    # than the eager call: float32 rounding (1e-6 was exceeded by 1.1e-6 on an Intel Xeon).
    np.testing.assert_allclose(predicted, as_dict, atol=1e-5)

    restored = keras_round_trip(generator, tmp_path)
    assert restored.style_count == 3
    np.testing.assert_array_equal(restored(inputs), as_dict)
    clone, config = config_round_trip(generator)
    assert clone.get_config() == config and config["num_styles"] == 3


def test_layer_outputs_are_reachable_by_name_for_explainers():
    generator = ResnetGenerator(num_residual_blocks=2, filters=4)
    inner = keras.Model(generator.input, generator.get_layer("res2_add").output)
    assert tuple(inner(images(16, 16)).shape) == (1, 4, 4, 16)
    unet = UNetGenerator(num_downsamplings=5, filters=4, max_filters=8)
    skip = keras.Model(unet.input, unet.get_layer("skip1").output)
    assert tuple(skip(images(32, 32), training=False).shape) == (1, 2, 2, 16)
    patch = PatchGANDiscriminator(num_layers=2, filters=4)
    trunk = keras.Model(patch.input, patch.get_layer("conv3_lrelu").output)
    assert tuple(trunk(images(32, 32)).shape) == (1, 8, 8, 16)
    style = StyleGenerator(num_styles=2, filters=4, num_residual_blocks=1)
    condition = keras.Model(style.inputs, style.get_layer("condition").output)
    np.testing.assert_allclose(
        condition(
            {
                "image": images(8, 8),
                "style": np.asarray([[0.25, 0.75]], "float32"),
                "strength": np.asarray([[0.5]], "float32"),
            }
        ),
        [[0.125, 0.375]],
    )


# --- presets and argument checks --------------------------------------------------------------


def test_named_generator_presets():
    assert set(TRANSLATION_GENERATOR_PRESETS) == {
        "resnet6",
        "resnet9",
        "unet128",
        "unet256",
        "encoder_decoder",
    }
    resnet9 = build_translation_generator("resnet9", filters=4)
    assert isinstance(resnet9, ResnetGenerator)
    assert sum(layer.name.endswith("_add") for layer in resnet9.layers) == 9
    resnet6 = build_translation_generator("resnet6", filters=4, num_residual_blocks=2)
    assert sum(layer.name.endswith("_add") for layer in resnet6.layers) == 2
    assert build_translation_generator("unet256", filters=4, max_filters=8).size_multiple == 256
    assert build_translation_generator("unet128", filters=4, max_filters=8).size_multiple == 128
    encoder_decoder = build_translation_generator("encoder_decoder", filters=(4, 4, 4, 4))
    assert isinstance(encoder_decoder, EncoderDecoderGenerator)
    with pytest.raises(ValueError, match="unknown generator preset 'resnet12'"):
        build_translation_generator("resnet12")


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: ResnetGenerator(filters=0), "filters must be an integer >= 1; received 0"),
        (lambda: ResnetGenerator(num_residual_blocks=2.5), "received 2.5"),
        (lambda: UNetGenerator(dropout=1.0), r"`dropout` must be in \[0, 1\); received 1.0"),
        (lambda: UNetGenerator(dropout=-0.1), "received -0.1"),
        (lambda: UNetGenerator(num_downsamplings=0), "num_downsamplings.*received 0"),
        (lambda: EncoderDecoderGenerator(filters=(8, 0)), r"received \(8, 0\)"),
        (
            lambda: EncoderDecoderGenerator(bottleneck_channels=0),
            "bottleneck_channels must be an integer >= 1",
        ),
        (lambda: StyleGenerator(num_styles=0), "num_styles must be an integer >= 1"),
        (lambda: PatchGANDiscriminator(num_layers=0), "num_layers.*received 0"),
        (lambda: PatchGANDiscriminator(norm="layer"), "'batch' or 'instance'; received 'layer'"),
        (lambda: PatchGANDiscriminator(conditional="yes"), "received 'yes'"),
        (
            lambda: GlobalPoolDiscriminator(num_styles=-1),
            "num_styles must be an integer >= 0; received -1",
        ),
        (lambda: ReflectionPadding2D(-1), "padding must be an integer >= 0; received -1"),
        (lambda: StyleConditionedNormalization(0), "num_styles must be an integer >= 1"),
        (lambda: ImageSizeCheck(0), "multiple must be an integer >= 1; received 0"),
    ],
)
def test_arguments_are_validated_with_clear_errors(build, message):
    with pytest.raises(ValueError, match=message):
        build()
