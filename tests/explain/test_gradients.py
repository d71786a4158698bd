"""Gradient flow during fit: norms checked against an independent tape, files, logs, warnings,
per-pixel heatmaps that are exactly zero where the input cannot matter, layer slices."""

import csv
import json
import os
import warnings

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from keras_styletransfer.errors import InputError
from keras_styletransfer.explain import render
from keras_styletransfer.explain.callbacks import GradientFlow
from keras_styletransfer.explain.gradients import (
    DiscriminatorSaturationWarning,
    ExplodingGradientWarning,
    GradientWarning,
    VanishingGradientWarning,
    gradient_statistics,
    input_gradient_maps,
    layer_gradient_maps,
    make_probe,
)
from keras_styletransfer.models.cyclegan import CycleGAN
from keras_styletransfer.models.discriminators import (
    DCGANDiscriminator,
    GlobalPoolDiscriminator,
    PatchGANDiscriminator,
)
from keras_styletransfer.models.gan import GAN
from keras_styletransfer.models.generators import DCGANGenerator, StyleGenerator
from keras_styletransfer.models.multistyle import MultiStyleGAN
from keras_styletransfer.models.pix2pix import Pix2Pix


def images(count=8, side=16, seed=0):
    rng = np.random.default_rng(seed)
    return rng.uniform(-1, 1, (count, side, side, 3)).astype("float32")


def tiny_gan(loss="non_saturating", **kwargs):
    generator = DCGANGenerator(latent_dim=8, base_size=4, base_filters=8, upsampling_filters=(8, 4))
    discriminator = DCGANDiscriminator(image_shape=(16, 16, 3), filters=(4, 8), dropout=0.0)
    return GAN(generator, discriminator, loss=loss, seed=1, **kwargs)


def image_generator(name="g"):
    x = keras.Input((None, None, 3), name="image")
    y = keras.layers.Conv2D(4, 3, padding="same", activation="relu", name="conv")(x)
    y = keras.layers.Conv2D(3, 3, padding="same", activation="tanh", name="to_image")(y)
    return keras.Model(x, y, name=name)


class RightHalf(keras.layers.Layer):
    """Zeroes the left half of an image: D cannot see those pixels at all."""

    def call(self, images):
        width = tf.shape(images)[2]
        keep = tf.cast(tf.range(width) >= width // 2, images.dtype)
        return images * tf.reshape(keep, [1, 1, -1, 1])


def masked_pix2pix():
    """Pix2Pix whose G is pixel-wise (1x1) and whose D ignores the left half of both inputs."""
    x = keras.Input((None, None, 3), name="image")
    generator = keras.Model(
        x, keras.layers.Conv2D(3, 1, activation="tanh", name="to_image")(x), name="g"
    )
    condition = keras.Input((None, None, 3), name="condition")
    image = keras.Input((None, None, 3), name="image")
    pair = keras.layers.Concatenate(name="pair")([condition, image])
    y = RightHalf(name="mask")(pair)
    y = keras.layers.Conv2D(4, 3, padding="same", name="conv1")(y)
    y = keras.layers.LeakyReLU(0.2, name="lrelu")(y)
    y = keras.layers.Conv2D(1, 3, padding="same", name="patch_logits")(y)
    discriminator = keras.Model([condition, image], y, name="d")
    model = Pix2Pix(generator, discriminator, l1_weight=0.0, seed=2)
    model.compile()
    return model


def layer_norms(variables, grads):
    """Per-layer L2 norm keyed by the layer part of the variable path, computed here."""
    norms = {}
    for variable, grad in zip(variables, grads, strict=True):
        layer = variable.path.rsplit("/", 1)[0]
        norms[layer] = norms.get(layer, 0.0) + float(np.sum(np.square(np.asarray(grad, "float64"))))
    return {layer: np.sqrt(value) for layer, value in norms.items()}


def reported(rows, network, model_name):
    return {
        row["layer"].removeprefix(f"{model_name}/"): row["grad_norm"]
        for row in rows
        if row["network"] == network
    }


# --- the numbers ------------------------------------------------------------------------------


def test_gan_gradient_norms_equal_an_independent_tape():
    gan = tiny_gan()
    gan.compile()
    probe = make_probe(gan, images(), size=6, seed=3)
    assert probe["real_images"].shape == (6, 16, 16, 3) and probe["noise"].shape == (6, 8)
    totals, rows = gradient_statistics(gan, probe)

    real, noise = tf.constant(probe["real_images"]), tf.constant(probe["noise"])
    g_variables = gan.generator.trainable_variables
    d_variables = gan.discriminator.trainable_variables
    with tf.GradientTape(persistent=True) as tape:
        fake_logits = gan.discriminator(gan.generator(noise, training=False), training=False)
        real_logits = gan.discriminator(real, training=False)
        g_loss = tf.reduce_mean(tf.nn.softplus(-fake_logits))  # -log sigmoid(D(G(z)))
        d_loss = tf.reduce_mean(tf.nn.softplus(-real_logits)) + tf.reduce_mean(
            tf.nn.softplus(fake_logits)
        )
    expected_g = layer_norms(g_variables, tape.gradient(g_loss, g_variables))
    expected_d = layer_norms(d_variables, tape.gradient(d_loss, d_variables))
    got_g = reported(rows, "generator", gan.generator.name)
    got_d = reported(rows, "discriminator", gan.discriminator.name)
    assert got_g.keys() == expected_g.keys() and len(got_g) == 7
    assert got_d.keys() == expected_d.keys() == {"conv1", "conv2", "logit"}
    for layer, value in {**expected_g, **expected_d}.items():
        got = got_g.get(layer, got_d.get(layer))
        np.testing.assert_allclose(got, value, rtol=1e-5, err_msg=layer)
    np.testing.assert_allclose(
        totals["grad_norm_generator"], np.sqrt(sum(v**2 for v in expected_g.values())), rtol=1e-5
    )
    np.testing.assert_allclose(totals["g_loss"], float(g_loss), rtol=1e-6)
    np.testing.assert_allclose(totals["d_loss"], float(d_loss), rtol=1e-6)
    # The non-saturating loss passes back 1 - sigmoid(D(G(z))) per example.
    np.testing.assert_allclose(
        totals["adversarial_signal"], float(tf.reduce_mean(1 - tf.sigmoid(fake_logits))), rtol=1e-5
    )
    weights = {row["layer"].split("/", 1)[1]: row["weight_norm"] for row in rows}
    kernel = gan.discriminator.get_layer("logit").kernel
    bias = gan.discriminator.get_layer("logit").bias
    np.testing.assert_allclose(
        weights["logit"], np.sqrt(np.sum(kernel.numpy() ** 2) + np.sum(bias.numpy() ** 2)), 1e-6
    )


def test_taking_a_probe_leaves_the_models_random_streams_alone():
    gan = tiny_gan()
    states = [v.numpy() for v in gan.variables if "seed_generator_state" in v.path]
    probe = make_probe(gan, images(4), seed=3)
    after = [v.numpy() for v in gan.variables if "seed_generator_state" in v.path]
    for old, new in zip(states, after, strict=True):
        np.testing.assert_array_equal(old, new)
    # A GAN's probe noise is a NumPy stream of the seed, as before the model contract.
    expected = np.random.default_rng(3).standard_normal((4, 8)).astype("float32")
    np.testing.assert_array_equal(probe["noise"], expected)
    assert probe["real_images"].dtype == np.float32


def test_training_mode_probe_leaves_statistics_and_random_states_untouched():
    gan = tiny_gan()
    gan.compile()
    probe = make_probe(gan, images(4))
    before = [v.numpy() for v in gan.generator.variables + gan.discriminator.variables]
    seed_state = gan.seed_generator.state.numpy()
    inference, _ = gradient_statistics(gan, probe)
    training, _ = gradient_statistics(gan, probe, training=True)
    # Batch statistics instead of moving averages: a different gradient, same weights after.
    assert abs(training["grad_norm_generator"] - inference["grad_norm_generator"]) > 1e-6
    after = [v.numpy() for v in gan.generator.variables + gan.discriminator.variables]
    for old, new in zip(before, after, strict=True):
        np.testing.assert_array_equal(old, new)
    np.testing.assert_array_equal(seed_state, gan.seed_generator.state.numpy())


def test_pix2pix_gradient_norms_include_the_l1_term():
    model = Pix2Pix(
        image_generator(),
        PatchGANDiscriminator(num_layers=1, filters=4, conditional=True),
        l1_weight=100.0,
    )
    model.compile()
    source, target = images(4, seed=1), images(4, seed=2)
    totals, rows = gradient_statistics(model, (source, target))
    source, target = tf.constant(source), tf.constant(target)
    g_variables = model.generator.trainable_variables
    d_variables = model.discriminator.trainable_variables
    with tf.GradientTape(persistent=True) as tape:
        fake = model.generator(source, training=False)
        fake_logits = model.discriminator([source, fake], training=False)
        real_logits = model.discriminator([source, target], training=False)
        adversarial = tf.reduce_mean(tf.nn.softplus(-fake_logits))
        g_loss = adversarial + 100.0 * tf.reduce_mean(tf.abs(target - fake))
        d_loss = 0.5 * (
            tf.reduce_mean(tf.nn.softplus(-real_logits))
            + tf.reduce_mean(tf.nn.softplus(fake_logits))
        )
    expected_g = layer_norms(g_variables, tape.gradient(g_loss, g_variables))
    expected_d = layer_norms(d_variables, tape.gradient(d_loss, d_variables))
    expected_a = layer_norms(g_variables, tape.gradient(adversarial, g_variables))
    for layer, value in expected_g.items():
        np.testing.assert_allclose(reported(rows, "generator", "g")[layer], value, rtol=1e-5)
    name = model.discriminator.name
    for layer, value in expected_d.items():
        np.testing.assert_allclose(reported(rows, "discriminator", name)[layer], value, rtol=1e-5)
    adversarial_rows = {r["layer"]: r["adversarial_grad_norm"] for r in rows if "g/" in r["layer"]}
    for layer, value in expected_a.items():
        np.testing.assert_allclose(adversarial_rows[f"g/{layer}"], value, rtol=1e-5)
    # The L1 term dominates G's gradient: the adversarial part alone is far smaller.
    assert totals["grad_norm_generator_adversarial"] < 0.2 * totals["grad_norm_generator"]


# --- inside fit -------------------------------------------------------------------------------


def assert_png(path, min_side=100):
    image = np.asarray(Image.open(path).convert("L"))
    assert min(image.shape) >= min_side, path
    assert image.std() > 5, f"{path} is blank"


def test_gradient_flow_inside_gan_fit_writes_files_logs_and_no_warning(tmp_path):
    gan = tiny_gan()
    gan.compile()
    data = tf.data.Dataset.from_tensor_slices(images(8)).batch(4)
    flow = GradientFlow(
        str(tmp_path / "flow"),
        probe_data=data,
        probe_size=4,
        every=1,
        log_dir=str(tmp_path / "logs"),
        layer_names={"generator": ["up1"], "discriminator": ["conv1"]},
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        history = gan.fit(data, epochs=2, callbacks=[flow], verbose=0)
    assert not [w for w in caught if issubclass(w.category, GradientWarning)]
    # Checks: train begin + one per step (2 epochs x 2 steps).
    assert [c["step"] for c in flow.checks] == [0, 1, 2, 3, 4]
    for key in ("grad_norm_generator", "grad_norm_discriminator", "grad_ratio"):
        assert history.history[key] == [flow.checks[2][key], flow.checks[4][key]]
    assert history.history["gradients_vanishing"] == [0.0, 0.0]
    assert history.history["discriminator_saturated"] == [0.0, 0.0]
    # The wrapper's own batch metrics are not overwritten by the probe's.
    assert "d_fake_accuracy" in history.history
    assert all(c["grad_norm_generator"] > 0 for c in flow.checks)
    layers_per_check = len({r["layer"] for r in flow.records})
    assert layers_per_check == 7 + 3
    with open(tmp_path / "flow" / "gradient_flow.csv") as handle:
        table = list(csv.DictReader(handle))
    assert len(table) == 5 * layers_per_check
    # Update ratios are measured from the weights one step later (all but the last check).
    ratios = [float(r["update_ratio"]) for r in table if r["step"] != "4"]
    assert all(0 < ratio < 1 for ratio in ratios)
    summary = json.loads((tmp_path / "flow" / "gradient_flow.json").read_text())
    assert len(summary["checks"]) == 5
    assert summary["records"][-1]["update_ratio"] is None
    for epoch in (1, 2):
        for stem in (
            "gradient_flow",
            "gradient_histograms",
            "gradient_heatmaps",
            "layer_gradients",
        ):
            assert_png(tmp_path / "flow" / f"{stem}_epoch_{epoch:03d}.png")
    assert_png(tmp_path / "flow" / "gradient_norms.png")
    (events,) = os.listdir(tmp_path / "logs" / "gradients")
    plugins = {}
    for record in tf.data.TFRecordDataset(str(tmp_path / "logs" / "gradients" / events)):
        event = tf.compat.v1.Event.FromString(record.numpy())
        for value in event.summary.value:
            plugins.setdefault(value.tag, set()).add(value.metadata.plugin_data.plugin_name)
    layer = f"{gan.generator.name}/up1"
    assert plugins[f"gradient/generator/{layer}"] == {"histograms"}
    assert plugins[f"gradient_norm/generator/{layer}"] == {"scalars"}
    assert plugins["gradients/grad_norm_discriminator"] == {"scalars"}


def test_gradient_flow_inside_pix2pix_fit_measures_the_update_ratio(tmp_path):
    model = Pix2Pix(
        image_generator(), PatchGANDiscriminator(num_layers=1, filters=4, conditional=True)
    )
    model.compile()
    data = tf.data.Dataset.from_tensors((images(2, seed=1), images(2, seed=2)))
    generator_weights = []
    keep = keras.callbacks.LambdaCallback(
        on_train_batch_end=lambda batch, logs: generator_weights.append(
            [v.numpy() for v in model.generator.trainable_variables]
        )
    )
    before = [v.numpy() for v in model.generator.trainable_variables]
    flow = GradientFlow(str(tmp_path), probe_data=data, every=1, heatmaps=False)
    history = model.fit(data, epochs=2, callbacks=[flow, keep], verbose=0)
    assert len(history.history["grad_norm_generator"]) == 2
    assert history.history["grad_norm_generator"][-1] == flow.checks[-1]["grad_norm_generator"]
    # The first step's update of layer "g/conv", measured independently.
    change = np.sqrt(
        sum(np.sum((a - b) ** 2) for a, b in zip(generator_weights[0][:2], before[:2], strict=True))
    )
    weight = np.sqrt(sum(np.sum(b**2) for b in before[:2]))
    row = next(r for r in flow.records if r["step"] == 0 and r["layer"] == "g/conv")
    np.testing.assert_allclose(row["update_ratio"], change / weight, rtol=1e-5)
    assert os.path.exists(tmp_path / "gradient_flow_epoch_002.png")
    assert not os.path.exists(tmp_path / "gradient_heatmaps_epoch_001.png")


@pytest.mark.slow
def test_gradient_flow_inside_cyclegan_and_multistyle_fit(tmp_path):
    cycle = CycleGAN(
        image_generator("g_ab"),
        image_generator("g_ba"),
        PatchGANDiscriminator(num_layers=1, filters=4, name="d_a"),
        PatchGANDiscriminator(num_layers=1, filters=4, name="d_b"),
        pool_size=0,
    )
    cycle.compile()
    pairs = tf.data.Dataset.from_tensors((images(2, seed=1), images(2, seed=2)))
    flow = GradientFlow(str(tmp_path / "cycle"), probe_data=pairs, every=1)
    history = cycle.fit(pairs, epochs=1, callbacks=[flow], verbose=0)
    networks = {r["layer"].split("/")[0] for r in flow.records}
    assert networks == {"g_ab", "g_ba", "d_a", "d_b"}
    assert history.history["grad_norm_discriminator"][0] > 0
    assert_png(tmp_path / "cycle" / "gradient_heatmaps_epoch_001.png")

    generator = StyleGenerator(num_styles=3, filters=4, num_residual_blocks=1)
    discriminator = GlobalPoolDiscriminator(num_layers=1, filters=4, num_styles=3)
    multi = MultiStyleGAN(generator, discriminator, style_names=["a", "b"])
    multi.compile()
    batch = (images(2, seed=3), images(2, seed=4), np.array([0, 1]))
    flow = GradientFlow(str(tmp_path / "multi"), probe_data=batch, every=1)
    history = multi.fit(tf.data.Dataset.from_tensors(batch), epochs=1, callbacks=[flow], verbose=0)
    assert history.history["grad_norm_generator"][0] > 0
    assert {r["network"] for r in flow.records} == {"generator", "discriminator"}
    assert_png(tmp_path / "multi" / "gradient_flow_epoch_001.png")


# --- warnings ---------------------------------------------------------------------------------


def fit_with_flow(model, data, tmp_path=None, epochs=1, **kwargs):
    flow = GradientFlow(
        str(tmp_path) if tmp_path else None, probe_data=data, every=1, heatmaps=False, **kwargs
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        history = model.fit(data, epochs=epochs, callbacks=[flow], verbose=0)
    raised = [w for w in caught if issubclass(w.category, GradientWarning)]
    return flow, history, raised


def test_a_zeroed_frozen_last_layer_of_d_makes_gradients_vanish(tmp_path):
    gan = tiny_gan()
    logit = gan.discriminator.get_layer("logit")
    logit.kernel.assign(tf.zeros_like(logit.kernel))
    logit.bias.assign(tf.zeros_like(logit.bias))
    logit.trainable = False
    gan.compile()
    data = tf.data.Dataset.from_tensor_slices(images(8)).batch(2)
    flow, history, raised = fit_with_flow(gan, data, tmp_path, patience=3)
    assert [c["grad_norm_generator"] for c in flow.checks] == [0.0] * 5
    vanishing = [w for w in raised if w.category is VanishingGradientWarning]
    assert len(vanishing) == 2  # G and D, once each (not once per check)
    assert "generator's gradients vanish" in str(vanishing[0].message)
    assert history.history["gradients_vanishing"] == [1.0]
    assert history.history["gradients_exploding"] == [0.0]
    assert [c["gradients_vanishing"] for c in flow.checks] == [0, 0, 1, 1, 1]
    assert_png(tmp_path / "gradient_flow_epoch_001.png")


def test_a_huge_learning_rate_makes_gradients_explode():
    gan = tiny_gan()
    gan.compile(
        generator_optimizer=keras.optimizers.SGD(1e4),
        discriminator_optimizer=keras.optimizers.SGD(1e4),
    )
    data = tf.data.Dataset.from_tensor_slices(images(8)).batch(2)
    flow, history, raised = fit_with_flow(gan, data)
    assert flow.checks[0]["gradients_exploding"] == 0.0  # healthy before the first step
    assert any(w.category is ExplodingGradientWarning for w in raised)
    assert history.history["gradients_exploding"] == [1.0]


def test_a_saturated_d_starves_g_under_minimax_but_not_non_saturating():
    data = tf.data.Dataset.from_tensor_slices(images(6)).batch(2)
    results = {}
    for loss in ("minimax", "non_saturating"):
        gan = tiny_gan(loss=loss)
        # D calls everything fake with certainty: logit ~ -30.
        gan.discriminator.get_layer("logit").bias.assign([-30.0])
        gan.compile()
        results[loss] = fit_with_flow(gan, data, patience=2)
    flow, history, raised = results["minimax"]
    # The diagnosis, and its symptom: G's gradient (not D's) vanishes.
    assert {w.category for w in raised} == {
        DiscriminatorSaturationWarning,
        VanishingGradientWarning,
    }
    assert all(
        "generator" in str(w.message)
        for w in raised
        if w.category is not DiscriminatorSaturationWarning
    )
    assert flow.checks[-1]["grad_norm_discriminator"] > 1e-3
    assert history.history["discriminator_saturated"] == [1.0]
    assert flow.checks[-1]["d_fake_accuracy"] == 1.0
    assert flow.checks[-1]["adversarial_signal"] < 1e-10
    flow, history, raised = results["non_saturating"]
    # Same D, but -log D(G(z)) still passes a gradient of ~1: G is not starved.
    assert not raised and history.history["discriminator_saturated"] == [0.0]
    assert flow.checks[-1]["adversarial_signal"] > 0.99


def test_bad_arguments_raise_input_error():
    gan = tiny_gan()
    gan.compile()
    with pytest.raises(InputError, match="probe data"):
        make_probe(gan, None)
    with pytest.raises(InputError, match="adversarial models"):
        make_probe(keras.Sequential([keras.layers.Dense(1)]), images(2))
    with pytest.raises(InputError, match="`every`"):
        GradientFlow(every=0)
    with pytest.raises(InputError, match="layer_names"):
        GradientFlow(layer_names=["up1"])
    with pytest.raises(InputError, match="does not fit a Pix2Pix"):
        make_probe(masked_pix2pix(), images(2))


# --- heatmaps and layer slices ----------------------------------------------------------------


def test_heatmaps_are_zero_exactly_where_the_input_cannot_matter(tmp_path):
    model = masked_pix2pix()
    probe = make_probe(model, (images(3, seed=5), images(3, seed=6)))
    maps = input_gradient_maps(model, probe)
    for key in ("generator", "discriminator"):
        heat = maps[key]
        assert heat.shape == (3, 16, 16)
        assert np.all(heat[:, :, :8] == 0), key  # D never sees the left half
        assert np.mean(heat[:, :, 8:] > 0) > 0.9, key
    np.testing.assert_array_equal(maps["discriminator_images"], probe["target_images"])
    path = render.save_gradient_heatmaps(maps, str(tmp_path / "heat.png"))
    assert_png(path)


def test_layer_slices_equal_gradients_taken_without_hooks():
    model = masked_pix2pix()
    probe = make_probe(model, (images(2, seed=7), images(2, seed=8)))
    maps = layer_gradient_maps(
        model, probe, {"generator": ["to_image"], "discriminator": ["patch_logits", "conv1"]}
    )
    # d sum_i mean(D_i) / d logits is 1 / (number of patches) everywhere.
    np.testing.assert_allclose(maps["discriminator/patch_logits"], 1 / 256, rtol=1e-6)
    # Downstream of conv1 every column counts; G's image counts only where D looks.
    assert np.all(maps["discriminator/conv1"] != 0)
    assert np.all(maps["generator/to_image"][:, :, :8] == 0)
    assert np.all(maps["generator/to_image"][:, :, 8:] != 0)
    source, target = tf.constant(probe["source_images"]), tf.constant(probe["target_images"])
    fake = model.generator(source, training=False)
    with tf.GradientTape() as tape:
        tape.watch(fake)
        g_loss = tf.reduce_sum(model.generator_terms(source, target, fake, False)["g_loss"])
    expected = tf.reduce_mean(tape.gradient(g_loss, fake), axis=-1).numpy()
    np.testing.assert_allclose(maps["generator/to_image"], expected, rtol=1e-5, atol=1e-9)
    with pytest.raises(InputError, match=r"Valid layers: .*patch_logits"):
        layer_gradient_maps(model, probe, {"discriminator": ["no_such_layer"]})
