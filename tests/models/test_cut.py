"""CUT / FastCUT: the PatchNCE loss, the training step, the contract, saving, runs and resume."""

import dataclasses
import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_styletransfer.losses import patch_nce_loss
from keras_styletransfer.models.cut import CUT, PatchProjection, default_nce_layers
from keras_styletransfer.models.presets import get_translation_preset
from tests import testing
from tests.testing import assert_weights_equal, changed_paths, keras_round_trip, weights_of


def numpy_patch_nce(query, key, temperature):
    """The reference's PatchNCE written out with loops, per example."""
    query = query / np.linalg.norm(query, axis=-1, keepdims=True)
    key = key / np.linalg.norm(key, axis=-1, keepdims=True)
    batch, patches, _ = query.shape
    losses = np.zeros(batch)
    for b in range(batch):
        for i in range(patches):
            logits = [query[b, i] @ key[b, i]]
            logits += [-10.0 if j == i else query[b, i] @ key[b, j] for j in range(patches)]
            logits = np.array(logits) / temperature
            top = logits.max()
            losses[b] += top + np.log(np.exp(logits - top).sum()) - logits[0]
    return losses / patches


def test_patch_nce_matches_the_reference_formula_eagerly_and_in_a_graph():
    rng = np.random.default_rng(0)
    query = rng.normal(size=(2, 5, 4)).astype("float32")
    key = rng.normal(size=(2, 5, 4)).astype("float32")
    expected = numpy_patch_nce(query, key, 0.07)
    np.testing.assert_allclose(patch_nce_loss(query, key).numpy(), expected, rtol=1e-4)
    graph = tf.function(lambda q, k: patch_nce_loss(q, k, 0.5))
    np.testing.assert_allclose(
        graph(query, key).numpy(), numpy_patch_nce(query, key, 0.5), rtol=1e-4
    )


def test_patch_nce_negatives_come_from_the_same_image_and_keys_get_no_gradient():
    rng = np.random.default_rng(1)
    query = tf.constant(rng.normal(size=(3, 6, 4)).astype("float32"))
    key = tf.constant(rng.normal(size=(3, 6, 4)).astype("float32"))
    whole = patch_nce_loss(query, key).numpy()
    for b in range(3):  # each image alone gives the same value: no negatives from other images
        np.testing.assert_allclose(
            patch_nce_loss(query[b : b + 1], key[b : b + 1]), whole[b : b + 1], rtol=1e-5
        )
    with tf.GradientTape(persistent=True) as tape:
        tape.watch([query, key])
        loss = tf.reduce_sum(patch_nce_loss(query, key))
    assert tape.gradient(loss, key) is None
    assert np.abs(tape.gradient(loss, query).numpy()).sum() > 0
    # Matching features score far lower than shuffled ones.
    matched = patch_nce_loss(key, key).numpy()
    shuffled = patch_nce_loss(tf.reverse(key, [1]), key).numpy()
    assert (matched < 0.1).all() and (shuffled > 1).all()


def make_cut(**kwargs):
    kwargs.setdefault("num_patches", 16)
    model = CUT(testing.tiny_resnet("g"), testing.tiny_patchgan("d"), seed=3, **kwargs)
    model.compile(
        generator_optimizer=keras.optimizers.Adam(2e-3, beta_1=0.5),
        discriminator_optimizer=keras.optimizers.Adam(2e-3, beta_1=0.5),
    )
    return model


def test_default_layers_are_the_generators_own_encoder_and_errors_are_clear():
    generator = testing.tiny_resnet("g")
    assert default_nce_layers(generator) == ("check_size", "down1", "down2", "res1_add")
    model = CUT(generator, testing.tiny_patchgan("d"))
    # One head per layer, sized to the layer's channels (image 3, down1 8, down2 16, res 16).
    assert model.generator_projection.get_config()["channels"] == (3, 8, 16, 16)
    assert model.generator_projection in model.generator_networks()
    with pytest.raises(ValueError, match="no layer 'nowhere'"):
        CUT(testing.tiny_resnet("g"), testing.tiny_patchgan("d"), nce_layers=["nowhere"])
    with pytest.raises(ValueError, match="channels"):
        CUT(
            testing.tiny_resnet("g"),
            testing.tiny_patchgan("d"),
            generator_projection=PatchProjection((3, 8)),
        )
    with pytest.raises(ValueError, match="nce_identity"):
        CUT(testing.tiny_resnet("g"), testing.tiny_patchgan("d"), nce_identity="yes")


def test_a_step_trains_generator_heads_and_discriminator_and_reports_every_term():
    model = make_cut()
    a, b = testing.random_images(2, seed=1), testing.random_images(2, seed=2)
    before = {net.name: weights_of(net) for net in model.networks.values()}
    logs = model.train_on_batch(a, b, return_dict=True)
    for network in model.networks.values():
        assert changed_paths(before[network.name], weights_of(network)), network.name
    assert {"g_adversarial_loss", "nce_loss", "nce_identity_loss", "d_real_loss"} <= set(logs)
    assert "psnr" not in logs  # training batches are unpaired
    fast = make_cut(nce_identity=False, nce_weight=10.0, flip_equivariance=True)
    logs = fast.train_on_batch(a, b, return_dict=True)
    assert "nce_identity_loss" not in logs and np.isfinite(logs["g_loss"])
    evaluation = model.evaluate(a, b, verbose=0, return_dict=True)
    assert {"psnr", "ssim", "nce_loss"} <= set(evaluation)


def test_g_loss_is_the_adversarial_term_plus_the_weighted_mean_of_both_nce_terms():
    model = make_cut(nce_weight=2.5)
    terms = model.compute_losses(testing.random_images(2, seed=1), testing.random_images(2))
    expected = terms["g_adversarial_loss"] + 2.5 * 0.5 * (
        terms["nce_loss"] + terms["nce_identity_loss"]
    )
    np.testing.assert_allclose(terms["g_loss"], expected, rtol=1e-6)
    assert terms["g_loss"].shape == (2,) == terms["d_loss"].shape


def test_colour_term_compares_coarse_averages_and_adds_to_g_loss():
    from keras_styletransfer.models.cut import colour_difference

    photos = testing.random_images(2, seed=1)  # 16 x 16
    # Fine detail that keeps every 8 x 8 average costs nothing; a shifted colour costs its shift.
    checker = np.tile(np.array([[0.2, -0.2], [-0.2, 0.2]], np.float32), (8, 8))[None, ..., None]
    np.testing.assert_allclose(colour_difference(photos + checker, photos, 8), 0, atol=1e-6)
    np.testing.assert_allclose(colour_difference(photos + 0.3, photos, 8), [0.3, 0.3], rtol=1e-5)
    model = make_cut(nce_weight=2.5, colour_weight=4.0, colour_pool=4)
    terms = model.compute_losses(photos, testing.random_images(2))
    fake = model.generator(photos, training=False)
    np.testing.assert_allclose(terms["colour_loss"], colour_difference(fake, photos, 4), rtol=1e-5)
    expected = terms["g_adversarial_loss"] + 2.5 * 0.5 * (
        terms["nce_loss"] + terms["nce_identity_loss"]
    )
    np.testing.assert_allclose(terms["g_loss"], expected + 4.0 * terms["colour_loss"], rtol=1e-5)
    logs = model.train_on_batch(photos, testing.random_images(2), return_dict=True)
    assert logs["colour_loss"] > 0
    assert model.get_config()["colour_weight"] == 4.0 and model.get_config()["colour_pool"] == 4
    assert "colour_loss" not in make_cut().train_on_batch(photos, photos, return_dict=True)
    # FastCUT's flipped steps compare with the flipped photo (the output's own orientation).
    fast = make_cut(nce_identity=False, flip_equivariance=True, colour_weight=1.0)
    flip = tf.constant(True)
    outputs, keys = fast._translate(photos, photos, flip, False)
    flipped = fast.generator_terms(photos, outputs, keys, flip, False)["colour_loss"]
    np.testing.assert_allclose(
        flipped, colour_difference(outputs, tf.reverse(photos, [2]), 8), rtol=1e-5
    )
    assert not np.allclose(flipped, colour_difference(outputs, photos, 8), rtol=1e-3)


def test_r1_penalty_is_half_the_squared_slope_of_d_at_the_paintings_and_adds_to_d_loss():
    photos, paintings = testing.random_images(2, seed=1), testing.random_images(2, seed=2)
    model = make_cut(r1_weight=3.0)
    terms = model.compute_losses(photos, paintings)
    images = tf.constant(paintings)
    with tf.GradientTape() as tape:
        tape.watch(images)
        total = tf.reduce_sum(tf.reduce_mean(model.discriminator(images, training=True), [1, 2, 3]))
    slope = tape.gradient(total, images).numpy().reshape(2, -1)
    expected = 0.5 * (slope**2).sum(axis=1)
    assert expected.min() > 0
    np.testing.assert_allclose(terms["d_r1_penalty"], expected, rtol=1e-5)
    halves = 0.5 * (terms["d_real_loss"] + terms["d_fake_loss"])
    np.testing.assert_allclose(terms["d_loss"], halves + 3.0 * expected, rtol=1e-5)
    # The penalty is trained on: D's update differs from the same model's without it.
    plain = make_cut()
    for name, network in model.networks.items():
        plain.networks[name].set_weights(network.get_weights())
    logs = model.train_on_batch(photos, paintings, return_dict=True)
    assert logs["d_r1_penalty"] == pytest.approx(float(expected.mean()), rel=1e-4)
    plain_logs = plain.train_on_batch(photos, paintings, return_dict=True)
    assert "d_r1_penalty" not in plain_logs
    assert not np.allclose(
        model.discriminator.get_weights()[0], plain.discriminator.get_weights()[0]
    )
    assert model.get_config()["r1_weight"] == 3.0 and make_cut().get_config()["r1_weight"] == 0
    with pytest.raises(ValueError, match="r1_weight"):
        make_cut(r1_weight=-1.0)
    with pytest.raises(ValueError, match="flip_equivariance"):
        make_cut(r1_weight=1.0, flip_equivariance=True)


def test_a_generator_optimizer_with_use_ema_leaves_its_average_in_the_generator_after_fit():
    # Keras's `fit` finalizes only `model.optimizer`; the wrappers finalize both of theirs, so
    # `Adam(use_ema=True)` as the generator optimizer works as it does for a plain model.
    a, b = testing.random_images(6, seed=1), testing.random_images(6, seed=2)
    data = tf.data.Dataset.from_tensor_slices((a, b)).batch(2)
    plain, averaged = make_cut(), make_cut()
    for name, network in plain.networks.items():
        averaged.networks[name].set_weights(network.get_weights())
    momentum = 0.6
    averaged.compile(
        generator_optimizer=keras.optimizers.Adam(
            2e-3, beta_1=0.5, use_ema=True, ema_momentum=momentum
        ),
        discriminator_optimizer=keras.optimizers.Adam(2e-3, beta_1=0.5),
    )
    raw = []

    class Record(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            raw.append([v.numpy() for v in plain.generator_variables()])

    plain.fit(data, epochs=2, verbose=0, callbacks=[Record()])
    averaged.fit(data, epochs=2, verbose=0)
    assert len(raw) == 6
    # Keras's average: the first step's weights, then momentum * average + (1 - m) * weights.
    expected = raw[0]
    for weights in raw[1:]:
        expected = [
            momentum * e + (1 - momentum) * w for e, w in zip(expected, weights, strict=True)
        ]
    for variable, value in zip(averaged.generator_variables(), expected, strict=True):
        np.testing.assert_allclose(variable.numpy(), value, rtol=1e-5, atol=1e-6)
    assert any(not np.allclose(e, w) for e, w in zip(expected, raw[-1], strict=True))
    # The average changes nothing in training: the discriminators (no average) agree exactly.
    assert_weights_equal(weights_of(plain.discriminator), weights_of(averaged.discriminator))


def test_evaluation_draws_fixed_locations_and_leaves_the_training_stream_alone():
    model = make_cut()
    a, b = testing.random_images(2, seed=1), testing.random_images(2, seed=2)
    state = model.seed_generator.state.numpy().copy()
    first = model.compute_losses(a, b)["nce_loss"].numpy()
    np.testing.assert_array_equal(model.compute_losses(a, b)["nce_loss"].numpy(), first)
    np.testing.assert_array_equal(model.seed_generator.state.numpy(), state)
    model.train_on_batch(a, b)
    assert not np.array_equal(model.seed_generator.state.numpy(), state)


def test_patch_nce_falls_while_training_on_a_fixed_pair():
    model = make_cut(nce_identity=False)
    a, b = testing.random_images(2, seed=1), testing.random_images(2, seed=2)
    start = float(np.mean(model.compute_losses(a, b)["nce_loss"]))
    for _ in range(30):
        model.train_on_batch(a, b)
    end = float(np.mean(model.compute_losses(a, b)["nce_loss"]))
    assert end < 0.7 * start, (start, end)


def test_round_trip_gives_identical_outputs_and_resumes_identically(tmp_path):
    a, b = testing.random_images(2, seed=1), testing.random_images(2, seed=2)
    model = make_cut(flip_equivariance=True)
    model.train_on_batch(a, b)
    restored = keras_round_trip(model, tmp_path)
    assert type(restored) is CUT and restored.get_config() == model.get_config()
    np.testing.assert_array_equal(restored(a).numpy(), model(a).numpy())
    for _ in range(2):  # optimizers, heads and the random stream were saved
        model.train_on_batch(a, b)
        restored.train_on_batch(a, b)
    assert_weights_equal(
        weights_of(model, skip_seed_states=False), weights_of(restored, skip_seed_states=False)
    )


@pytest.mark.parametrize("name", ["cut", "fastcut", "cut_residual"])
def test_presets_keep_the_model_contract(name):
    from tests.models import test_models as contract

    model = get_translation_preset(name).build(16, 4, seed=0)
    fast = name == "fastcut"
    assert model.nce_identity == (not fast) and model.flip_equivariance == fast
    assert model.nce_weight == {"cut": 1.0, "fastcut": 10.0, "cut_residual": 0.25}[name]
    assert model.r1_weight == (10.0 if name == "cut_residual" else 0.0)
    assert model.generator.get_config()["upsampling"] == "resize"
    assert model.generator.get_config()["residual"] == (name == "cut_residual")
    if name == "cut_residual":  # it starts as the photo
        photos = testing.random_images(2, seed=3)
        np.testing.assert_allclose(model.generator(photos), photos, atol=1e-6)
    data = (testing.random_images(4, seed=1), testing.random_images(4, seed=2))
    contract.test_every_family_keeps_the_model_contract("cut", {"cut": (model, data)})
    contract.test_every_family_config_round_trips_through_the_generic_config(
        "cut", {"cut": (model, data)}
    )


# --- runs ----------------------------------------------------------------------------------------


def test_cut_reads_the_unpaired_folder_layout_and_tfds_like_cyclegan(tmp_path):
    from keras_styletransfer.config import TranslationConfig
    from keras_styletransfer.training.checks import validate_translation_config
    from keras_styletransfer.training.translation import build_folder_dataset
    from tests.training.test_train_style_folders import write_images

    for split, colour in (("trainA", (0, 0, 255)), ("trainB", (255, 0, 0))):
        write_images(tmp_path / "data" / split, 4, colour)
    for family in ("cut", "fastcut"):
        config = TranslationConfig(
            family=family, styles=("data",), data=str(tmp_path / "data"), image_size=32
        )
        dataset, previews = build_folder_dataset(validate_translation_config(config))
        photos, paintings = next(iter(dataset))
        assert photos.shape == paintings.shape == (4, 32, 32, 3)
        assert np.allclose(np.asarray(photos)[..., 2], 1.0, atol=1e-2)  # blue photos
        assert np.allclose(np.asarray(paintings)[..., 0], 1.0, atol=1e-2)  # red paintings
        assert previews.content.shape[1:] == (32, 32, 3)
        tfds = TranslationConfig(family=family, styles=("x",), data="tfds:cycle_gan/x")
        assert validate_translation_config(tfds) is tfds


@pytest.fixture
def cache(tmp_path, monkeypatch):
    folder = str(tmp_path / "cache")
    monkeypatch.setenv("KERAS_STYLETRANSFER_CACHE", folder)
    return folder


TINY_RUN = dict(image_size=32, filters=4, epochs=2, steps_per_epoch=2, batch_size=2, seed=3)


@pytest.mark.slow
def test_a_cut_run_trains_scores_explains_and_exports(tmp_path, cache):
    from keras_styletransfer.config import TranslationConfig
    from keras_styletransfer.training.translation import train_translation
    from tests.training.test_translation_training import OUTPUTS

    config = TranslationConfig(family="cut", styles=("watercolour",), **TINY_RUN)
    result = train_translation(config, str(tmp_path / "run"), verbose=0)
    run = tmp_path / "run"
    for name in (*OUTPUTS, "patch_map.png"):
        assert (run / name).exists(), name
    metrics = json.loads((run / "metrics.json").read_text())
    scores = metrics["styles"]["watercolour"]["crops"]
    assert -1 <= scores["ssim"] <= 1 and np.isfinite(scores["psnr"])
    assert {"nce_loss", "nce_identity_loss"} <= set(result.history)
    served = tf.saved_model.load(str(run / "exported" / "cut_watercolour" / "1"))
    assert "serving_default" in served.signatures
    photo = tf.constant(testing.random_images(1, size=32))
    (served_output,) = served.signatures["serving_default"](photo).values()
    np.testing.assert_allclose(
        served_output.numpy(), result.model.generator(photo).numpy(), atol=1e-5
    )


def test_a_run_picks_another_preset_of_its_family_and_others_are_refused():
    from keras_styletransfer.config import TranslationConfig
    from keras_styletransfer.errors import InputError
    from keras_styletransfer.training import translation
    from keras_styletransfer.training.checks import validate_translation_config

    config = TranslationConfig(
        "cut", styles=("pencil",), image_size=32, filters=4, preset="cut_operators"
    )
    validate_translation_config(config)
    model = translation.build_model(config)
    assert model.generator.get_config()["operators"] is True and model.nce_weight == 0.25
    default = translation.build_model(dataclasses.replace(config, preset=""))
    assert default.generator.get_config()["operators"] is False and default.nce_weight == 1.0
    with pytest.raises(InputError, match="builds a cyclegan model, not cut; --family cut takes"):
        validate_translation_config(dataclasses.replace(config, preset="cyclegan_resnet6"))
    with pytest.raises(InputError, match="unknown translation preset 'cut_ops'"):
        validate_translation_config(dataclasses.replace(config, preset="cut_ops"))


@pytest.mark.slow
def test_train_style_family_fastcut_runs_from_the_command_line(tmp_path, cache):
    script = os.path.join(os.path.dirname(sys.executable), "keras-styletransfer")
    run_dir = tmp_path / "run"
    arguments = ["--family", "fastcut", "--styles", "watercolour", "--image-size", "32"]
    arguments += ["--filters", "4", "--batch-size", "2", "--epochs", "1"]
    arguments += ["--steps-per-epoch", "2", "--run-dir", str(run_dir)]
    arguments += ["--generator-average", "0.5"]
    env = {**os.environ, "KERAS_STYLETRANSFER_CACHE": cache, "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run(
        [script, "train-style", *arguments], capture_output=True, text=True, env=env, timeout=900
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert (run_dir / "final.keras").exists() and (run_dir / "exported").is_dir()
    model = keras.saving.load_model(str(run_dir / "final.keras"))
    assert type(model) is CUT and not model.nce_identity and model.nce_weight == 10.0
    # --generator-average: the generator optimizer averages, and the saved weights are its
    # average (`AdversarialModel.fit` finalizes it).
    optimizer = model.generator_optimizer
    assert optimizer.use_ema and optimizer.ema_momentum == 0.5
    assert json.loads((run_dir / "config.json").read_text())["generator_average"] == 0.5
    for variable, average in zip(
        model.generator_variables(), optimizer._model_variables_moving_average, strict=True
    ):
        np.testing.assert_array_equal(variable.numpy(), average.numpy())


@pytest.mark.slow
def test_a_cut_run_killed_mid_epoch_and_mid_write_resumes_bit_identically(tmp_path, monkeypatch):
    from tests.training import test_exact_resume as exact

    config = dict(family="cut", styles=["watercolour"], **{**TINY_RUN, "epochs": 3})
    # With the generator's weight average on: it is optimizer state, restored with the rest.
    config.update(steps_per_epoch=3, generator_average=0.9)
    monkeypatch.setitem(exact.CONFIGS, "cut", config)
    exact.resume_through_kills("cut", tmp_path, [["batch", 1, 1], ["write", 2]])


@pytest.mark.slow
@pytest.mark.parametrize(
    "options", [{"flip_equivariance": True}, {"r1_weight": 0.5}], ids=["fastcut_flip", "cut_r1"]
)
def test_two_replicas_make_the_single_device_update(monkeypatch, options):
    from keras_styletransfer import distribute
    from keras_styletransfer.models import discriminators, generators
    from tests import test_distribute as equivalence

    def build_cut():
        generator = generators.ResnetGenerator(
            num_residual_blocks=1, filters=4, num_downsamplings=1, name="g"
        )
        discriminator = discriminators.PatchGANDiscriminator(num_layers=2, filters=4, name="d")
        # Locations, the flip, both NCE terms and D's R1 penalty are computed per replica.
        return CUT(generator, discriminator, num_patches=8, seed=3, **options)

    monkeypatch.setitem(equivalence.BUILDERS, "cut", build_cut)
    single = equivalence.train_two_steps("cut", distribute.get_strategy("default"))
    mirrored = equivalence.train_two_steps("cut", equivalence.two_device_strategy())
    for key, value in single[0].items():
        np.testing.assert_allclose(mirrored[0][key], value, atol=equivalence.ATOL, err_msg=key)
    assert single[1].keys() == mirrored[1].keys() and "nce_identity_loss" in single[1]
    assert ("d_r1_penalty" in single[1]) == ("r1_weight" in options)
    for key, value in single[1].items():
        assert mirrored[1][key] == pytest.approx(value, rel=1e-4, abs=equivalence.ATOL), key
