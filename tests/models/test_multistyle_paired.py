"""StyleUNetGenerator and PairedMultiStyle: style control, size independence, the training step,
saving, resuming and distribution."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_styletransfer import distribute
from keras_styletransfer.layers import StyleAffine
from keras_styletransfer.models.discriminators import PatchGANDiscriminator
from keras_styletransfer.models.multistyle_paired import (
    PairedMultiStyle,
    StyleUNetGenerator,
    style_maps,
)
from keras_styletransfer.serving.inference import Stylizer, is_style_generator
from tests.testing import (
    assert_weights_equal,
    changed_paths,
    keras_round_trip,
    weights_of,
)

STYLES = ["ink", "oil"]


def images(count=2, size=16, seed=0):
    rng = np.random.default_rng(seed)
    return rng.uniform(-1, 1, (count, size, size, 3)).astype("float32")


def generator(**kwargs):
    kwargs = {"num_downsamplings": 2, "filters": 4, "max_filters": 8, **kwargs}
    return StyleUNetGenerator(num_styles=2, **kwargs)


def discriminator(**kwargs):
    kwargs = {"num_layers": 1, "filters": 4, "norm": "batch", **kwargs}
    return PatchGANDiscriminator(conditional=True, condition_channels=5, name="patchgan", **kwargs)


def make_model(optimizer=None, generator_kwargs=None, **kwargs):
    model = PairedMultiStyle(
        generator(**(generator_kwargs or {})), discriminator(), STYLES, seed=2, **kwargs
    )
    model.compile(
        generator_optimizer=optimizer() if optimizer else keras.optimizers.SGD(0.1),
        discriminator_optimizer=optimizer() if optimizer else keras.optimizers.SGD(0.1),
    )
    return model


def randomise_style_tables(model, seed=0):
    """Give every StyleAffine non-zero tables (they start at zero: all styles alike)."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if isinstance(layer, StyleAffine):
            for table in (layer.gamma_table, layer.beta_table):
                table.assign(rng.normal(0, 0.5, table.shape).astype("float32"))


def style_input(photos, weights, strength=1.0):
    count = len(photos)
    return {
        "image": photos,
        "style": np.tile(np.asarray(weights, "float32"), (count, 1)),
        "strength": np.full((count, 1), strength, "float32"),
    }


# --- the generator ------------------------------------------------------------------------------


def test_style_unet_takes_style_generator_inputs_and_names_its_layers():
    net = generator()
    assert [t.name.split(":")[0] for t in net.inputs] == ["image", "style", "strength"]
    assert is_style_generator(net) and net.style_count == 2 and net.size_multiple == 4
    for name in ("styled", "to_image", "down2_bn", "down2_style", "up1_resize", "up1_style"):
        net.get_layer(name)
    assert isinstance(net.get_layer("up1_bn"), keras.layers.BatchNormalization)
    assert not net.get_layer("up1_bn").center and not net.get_layer("up1_bn").scale
    photos = images(2, 24)
    output = net(style_input(photos, [1, 0]), training=False)
    assert tuple(output.shape) == (2, 24, 24, 3)
    assert list(net(list(style_input(photos, [1, 0]).values())).shape) == [2, 24, 24, 3]
    with pytest.raises(ValueError, match="multiples of 4"):
        net(style_input(images(1, 18), [1, 0]))
    with pytest.raises(ValueError, match="`norm` must be 'batch' or 'instance'"):
        generator(norm="group")


def test_strength_zero_is_the_photo_exactly_and_strength_blends_linearly():
    net = generator()
    randomise_style_tables(net)
    photos = images(3, 16, seed=1)
    at = {s: np.asarray(net(style_input(photos, [0, 1], s))) for s in (0.0, 0.5, 1.0)}
    np.testing.assert_array_equal(at[0.0], photos)
    np.testing.assert_allclose(at[0.5], 0.5 * (photos + at[1.0]), atol=1e-6)
    assert np.abs(at[1.0] - photos).mean() > 0.05  # strength 1 is a real change
    # The network sees the style, not strength * style: the styled layer does not move with it.
    styled = keras.Model(net.inputs, net.get_layer("styled").output)
    np.testing.assert_allclose(
        np.asarray(styled(style_input(photos, [0, 1], 0.2))),
        np.asarray(styled(style_input(photos, [0, 1], 1.0))),
        atol=1e-6,
    )


def test_styles_select_their_tables_and_blends_use_the_weighted_tables():
    net = generator()
    photos = images(2, 16, seed=2)
    first = np.asarray(net(style_input(photos, [1, 0])))
    np.testing.assert_array_equal(first, np.asarray(net(style_input(photos, [0, 1]))))  # untrained
    randomise_style_tables(net)
    outputs = {w: np.asarray(net(style_input(photos, w))) for w in ((1, 0), (0, 1), (0.5, 0.5))}
    assert np.abs(outputs[(1, 0)] - outputs[(0, 1)]).mean() > 0.01
    assert np.abs(outputs[(0.5, 0.5)] - outputs[(1, 0)]).mean() > 0.003
    assert np.abs(outputs[(0.5, 0.5)] - outputs[(0, 1)]).mean() > 0.003
    # One layer: a blend's scale and shift are the weighted rows of the tables.
    layer = net.get_layer("up1_style")
    features = tf.random.normal((2, 4, 4, layer.gamma_table.shape[-1]), seed=1)
    weights = tf.constant([[0.25, 0.75], [1.0, 0.0]])
    gamma = 1.0 + weights @ layer.gamma_table
    beta = weights @ layer.beta_table
    np.testing.assert_allclose(
        layer([features, weights]).numpy(),
        (features * gamma[:, None, None] + beta[:, None, None]).numpy(),
        rtol=1e-5,
        atol=1e-6,
    )


@pytest.mark.parametrize("norm", ["batch", "instance"])
def test_batch_norm_renders_a_crop_as_the_whole_image_does_instance_norm_does_not(norm):
    # Trained on crops, used on whole photos and tiles: with moving statistics the output at a
    # pixel depends on its neighbourhood only, so a crop's render matches the same region of the
    # whole image's render away from the crop's border. Instance statistics are the image's own.
    net = generator(norm=norm)
    randomise_style_tables(net)
    if norm == "batch":  # moving statistics other than the initial 0 / 1
        for layer in net.layers:
            if isinstance(layer, keras.layers.BatchNormalization):
                layer.moving_mean.assign(np.full(layer.moving_mean.shape, 0.1, "float32"))
                layer.moving_variance.assign(np.full(layer.moving_variance.shape, 2.0, "float32"))
    whole = images(1, 96, seed=3)
    crop = whole[:, 32:64, 32:64]
    on_whole = np.asarray(net(style_input(whole, [0.3, 0.7]), training=False))[0, 32:64, 32:64]
    on_crop = np.asarray(net(style_input(crop, [0.3, 0.7]), training=False))[0]
    difference = np.abs(on_whole - on_crop)[12:20, 12:20].max()
    if norm == "batch":
        assert difference < 1e-5
    else:
        assert difference > 1e-3


def test_stylizer_serves_it_by_style_name_and_pads_any_size():
    net = generator()
    randomise_style_tables(net)
    stylizer = Stylizer(net, STYLES)
    photo = np.random.default_rng(0).integers(0, 256, (13, 19, 3), dtype=np.uint8)
    (oil,) = stylizer([photo], style="oil")
    assert oil.shape == (13, 19, 3)
    (unchanged,) = stylizer([photo], style="oil", strength=0.0)
    np.testing.assert_allclose(unchanged, photo / 127.5 - 1.0, atol=1e-6)


# --- the wrapper --------------------------------------------------------------------------------


def test_the_step_updates_d_then_g_on_the_conditional_pair_as_pix2pix_does():
    model = make_model(l1_weight=10.0)
    source, target = tf.constant(images(2, 16, 1)), tf.constant(images(2, 16, 2))
    indices = tf.constant([1, 0])
    # The same step by hand, on copies: D on (c, y) real and (c, G) fake, c = [x, one-hot maps],
    # loss halved; then G on the updated D's verdict + 10 * L1; D's statistics put back.
    twin = PairedMultiStyle.from_config(model.get_config())
    g, d = twin.generator, twin.discriminator
    g.set_weights(model.generator.get_weights())
    d.set_weights(model.discriminator.get_weights())
    style = tf.one_hot(indices, 2)
    condition = tf.concat(
        [source, tf.broadcast_to(style[:, None, None, :], (2, 16, 16, 2))], axis=-1
    )
    inputs = {"image": source, "style": style, "strength": tf.ones((2, 1))}
    with tf.GradientTape() as g_tape:
        fake = g(inputs, training=True)  # once: G's batch statistics move once per step
        with g_tape.stop_recording():
            with tf.GradientTape() as tape:
                d_loss = 0.5 * (
                    tf.reduce_mean(tf.nn.softplus(-d([condition, target], training=True)))
                    + tf.reduce_mean(tf.nn.softplus(d([condition, fake], training=True)))
                )
            for variable, gradient in zip(
                d.trainable_variables, tape.gradient(d_loss, d.trainable_variables), strict=True
            ):
                variable.assign_sub(0.1 * gradient)
            statistics = [tf.identity(v) for v in d.non_trainable_variables]
        g_loss = tf.reduce_mean(tf.nn.softplus(-d([condition, fake], training=True)))
        g_loss += 10.0 * tf.reduce_mean(tf.abs(target - fake))
    for variable, gradient in zip(
        g.trainable_variables, g_tape.gradient(g_loss, g.trainable_variables), strict=True
    ):
        variable.assign_sub(0.1 * gradient)
    for variable, value in zip(d.non_trainable_variables, statistics, strict=True):
        variable.assign(value)

    logs = model.train_on_batch(source, (target, indices), return_dict=True)
    for mine, theirs in ((model.generator, g), (model.discriminator, d)):
        for a, b in zip(mine.variables, theirs.variables, strict=True):
            np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(logs["d_loss"], float(d_loss), rtol=1e-5)
    np.testing.assert_allclose(logs["g_loss"], float(g_loss), rtol=1e-4)
    assert {"g_l1_loss", "g_adversarial_loss", "psnr", "ssim", "d_real_accuracy"} <= set(logs)


def test_style_weights_scale_each_examples_reconstruction_term_by_its_style():
    plain = make_model(l1_weight=10.0, reconstruction="l2")
    weighted = make_model(l1_weight=10.0, reconstruction="l2", style_weights=[0.5, 4.0])
    weighted.set_weights(plain.get_weights())
    source, target = images(2, 16, 1), images(2, 16, 2)
    indices = np.array([1, 0])
    base = plain.compute_losses(source, target, indices)["g_l2_loss"].numpy()
    terms = weighted.compute_losses(source, target, indices)
    # Example 0 is style 1 (weight 4), example 1 style 0 (weight 0.5).
    np.testing.assert_allclose(terms["g_l2_loss"].numpy(), base * [4.0, 0.5], rtol=1e-5)
    assert PairedMultiStyle.from_config(weighted.get_config()).style_weights == [0.5, 4.0]
    for bad in ([1.0], [1.0, -1.0], [1.0, float("nan")], "heavy"):
        with pytest.raises(ValueError, match="`style_weights` must"):
            make_model(style_weights=bad)


def test_the_discriminator_sees_the_photo_and_the_asked_style():
    model = make_model()
    batch = model.unpack_batch((images(2, 16, 1), images(2, 16, 2), np.array([1, 0])))
    condition, judged = model.discriminator_inputs(batch)
    assert condition.shape == (2, 16, 16, 5)
    np.testing.assert_array_equal(condition[..., :3], batch["source_images"])
    np.testing.assert_array_equal(condition[:, 5, 7, 3:], [[0, 1], [1, 0]])
    np.testing.assert_array_equal(judged, batch["target_images"])
    np.testing.assert_allclose(style_maps(images(1), [[0.2, 0.8]])[0, 3, 3, 3:], [0.2, 0.8])
    target = batch["target_images"]
    other = {**batch, "indices": tf.constant([0, 1])}
    assert not np.allclose(
        model.discriminator_logits(target, batch), model.discriminator_logits(target, other)
    )
    with pytest.raises(ValueError, match="`source_images` and `indices`"):
        model.discriminator_logits(target, {"source_images": batch["source_images"]})


def test_fit_changes_every_network_with_finite_losses_and_evaluates_per_style():
    model = make_model(optimizer=lambda: keras.optimizers.Adam(1e-3))
    data = tf.data.Dataset.from_tensor_slices(
        (images(8, 16, 1), images(8, 16, 2), np.arange(8) % 2)
    ).batch(4)
    before_g, before_d = weights_of(model.generator), weights_of(model.discriminator)
    history = model.fit(data, epochs=2, verbose=0).history
    assert all(np.isfinite(v).all() for v in history.values())
    assert changed_paths(before_g, weights_of(model.generator))
    assert changed_paths(before_d, weights_of(model.discriminator))
    # The style tables learn: styles are no longer alike.
    assert np.abs(model.generator.get_layer("up1_style").beta_table.numpy()).max() > 0
    logs = model.evaluate(data, verbose=0, return_dict=True)
    assert {"psnr", "ssim", "g_l1_loss", "d_loss"} <= set(logs)


def test_round_trip_gives_identical_outputs_and_resumes_identically(tmp_path):
    model = make_model(optimizer=lambda: keras.optimizers.Adam(1e-3))
    batch = (images(2, 16, 1), images(2, 16, 2), np.array([0, 1]))
    model.train_on_batch(*batch)
    restored = keras_round_trip(model, tmp_path)
    assert type(restored) is PairedMultiStyle and restored.style_names == STYLES
    assert restored.generator_style_names == STYLES and restored.family == "multistyle_paired"
    assert restored.l1_weight == 100.0
    inputs = style_input(images(2, 16, 3), [0.4, 0.6], 0.7)
    np.testing.assert_array_equal(np.asarray(restored(inputs)), np.asarray(model(inputs)))
    for _ in range(2):
        model.train_on_batch(*batch)
        restored.train_on_batch(*batch)
    assert_weights_equal(
        weights_of(model, skip_seed_states=False), weights_of(restored, skip_seed_states=False)
    )


def test_clear_errors_for_mismatched_networks_and_batches():
    with pytest.raises(ValueError, match="2 style slots; 3 styles need 3"):
        PairedMultiStyle(generator(), discriminator(), ["a", "b", "c"])
    with pytest.raises(ValueError, match="condition_channels=5"):
        PairedMultiStyle(generator(), PatchGANDiscriminator(conditional=True), STYLES)
    with pytest.raises(ValueError, match="conditional discriminator"):
        PairedMultiStyle(generator(), PatchGANDiscriminator(), STYLES)
    with pytest.raises(ValueError, match="distinct"):
        PairedMultiStyle(generator(), discriminator(), ["a", "a"])
    model = make_model()
    with pytest.raises(ValueError, match="style_indices"):
        model.train_on_batch(images(2), images(2))


def test_it_learns_a_different_mapping_per_style():
    # Style 0 negates the photo, style 1 halves it. A style-blind generator can at best render
    # their average, -0.25 x, whose L1 is 0.75 mean|x| against either target.
    model = make_model(
        optimizer=lambda: keras.optimizers.Adam(2e-3),
        generator_kwargs={"filters": 8, "max_filters": 16},
    )
    smooth = tf.image.resize(images(64, 4, seed=4), (16, 16), method="bilinear").numpy()
    indices = np.arange(64) % 2
    targets = np.where(indices[:, None, None, None] == 0, -smooth, 0.5 * smooth)
    data = tf.data.Dataset.from_tensor_slices((smooth, targets, indices)).shuffle(64, seed=0)
    model.fit(data.batch(8).repeat(), steps_per_epoch=600, epochs=1, verbose=0)
    blind = 0.75 * np.abs(smooth[:16]).mean()
    for style, mapping in ((0, -1.0), (1, 0.5)):
        out = model.render(tf.constant(smooth[:16]), tf.fill([16], style)).numpy()
        assert np.abs(out - mapping * smooth[:16]).mean() < 0.6 * blind, style


# --- distribution ------------------------------------------------------------------------------


def _train_two_steps(strategy):
    keras.utils.set_random_seed(11)
    with strategy.scope():
        model = PairedMultiStyle(
            generator(num_downsamplings=3), discriminator(num_layers=2), STYLES, seed=3
        )
        for network in (model.generator, model.discriminator):
            distribute.synchronize_batch_norm(network)
        model.compile(
            generator_optimizer=keras.optimizers.SGD(0.1),
            discriminator_optimizer=keras.optimizers.SGD(0.1),
        )
    rng = np.random.default_rng(7)
    data = (images(8, 16, 5), images(8, 16, 6), rng.integers(0, 2, 8).astype("int32"))
    before = weights_of(model)
    history = model.fit(tf.data.Dataset.from_tensor_slices(data).batch(4), verbose=0).history
    after = weights_of(model)
    moved = max(np.abs(after[key] - before[key]).max() for key in before)
    return after, {key: values[-1] for key, values in history.items()}, moved


@pytest.mark.slow
def test_two_replicas_make_the_single_device_update():
    devices = tf.config.list_logical_devices("CPU")
    if len(devices) < 2:
        pytest.skip("needs two logical CPU devices (set up in conftest before TF starts)")
    single_weights, single_logs, moved = _train_two_steps(distribute.get_strategy("default"))
    mirrored = distribute.get_strategy("mirrored", devices=[d.name for d in devices[:2]])
    mirrored_weights, mirrored_logs, _ = _train_two_steps(mirrored)
    assert single_weights.keys() == mirrored_weights.keys()
    # float32 reduction order differs between the two; a wrong share of the batch would not.
    assert moved > 1e-2
    for key, value in single_weights.items():
        np.testing.assert_allclose(mirrored_weights[key], value, atol=5e-5, err_msg=key)
    assert single_logs.keys() == mirrored_logs.keys()
    for key, value in single_logs.items():
        assert mirrored_logs[key] == pytest.approx(value, rel=1e-4, abs=1e-5), key
