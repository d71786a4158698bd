"""Pix2Pix and CycleGAN: the training algorithm, the image pool, the schedule, saving, resuming."""

import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_styletransfer.images import image_psnr, image_ssim
from keras_styletransfer.layers import ImagePool
from keras_styletransfer.models.cyclegan import CycleGAN
from keras_styletransfer.models.multistyle import MultiStyleGAN
from keras_styletransfer.models.pix2pix import Pix2Pix
from keras_styletransfer.optimizers import LinearDecayAfter
from tests.testing import (
    assert_weights_equal,
    changed_paths,
    keras_round_trip,
    tiny_patchgan,
    tiny_resnet,
    weights_of,
)


def tiny_generator(name):
    images = keras.Input((None, None, 3))
    x = keras.layers.Conv2D(4, 3, padding="same", activation="relu")(images)
    x = keras.layers.Conv2D(3, 3, padding="same", activation="tanh")(x)
    return keras.Model(images, x, name=name)


def tiny_discriminator(name, conditional=False):
    images = keras.Input((None, None, 3), name="image")
    inputs = [keras.Input((None, None, 3), name="condition"), images] if conditional else images
    x = keras.layers.Concatenate()(inputs) if conditional else images
    x = keras.layers.Conv2D(4, 4, strides=2, padding="same")(x)
    x = keras.layers.BatchNormalization()(x)
    x = keras.layers.LeakyReLU(0.2)(x)
    return keras.Model(inputs, keras.layers.Conv2D(1, 4, padding="same")(x), name=name)


def batch(seed, size=2, side=16):
    return tf.constant(
        np.random.default_rng(seed).uniform(-1, 1, (size, side, side, 3)).astype("float32")
    )


def make_pix2pix(**kwargs):
    model = Pix2Pix(tiny_generator("g"), tiny_discriminator("d", conditional=True), **kwargs)
    model.compile(
        generator_optimizer=keras.optimizers.SGD(0.1),
        discriminator_optimizer=keras.optimizers.SGD(0.1),
    )
    return model


def make_cyclegan(generator=tiny_generator, discriminator=tiny_discriminator, **kwargs):
    kwargs.setdefault("image_shape", (16, 16, 3))
    model = CycleGAN(
        generator("g_ab"),
        generator("g_ba"),
        discriminator("d_a"),
        discriminator("d_b"),
        seed=5,
        **kwargs,
    )
    model.compile(
        generator_optimizer=keras.optimizers.SGD(0.1),
        discriminator_optimizer=keras.optimizers.SGD(0.1),
    )
    return model


def test_pix2pix_step_updates_d_then_g_against_the_updated_d_as_the_reference_does():
    model = make_pix2pix(l1_weight=100.0)
    source, target = batch(1), batch(2)
    # The same step by hand: D on (x, y) real and (x, G(x)) fake with its loss halved, then G on
    # the *updated* D's verdict plus 100 * L1, then D's batch statistics put back.
    g = keras.models.clone_model(model.generator)
    g.set_weights(model.generator.get_weights())
    d = keras.models.clone_model(model.discriminator)
    d.set_weights(model.discriminator.get_weights())
    fake = g(source, training=True)
    with tf.GradientTape() as tape:
        real_logits = d([source, target], training=True)
        fake_logits = d([source, fake], training=True)
        d_loss = 0.5 * (
            tf.reduce_mean(tf.nn.softplus(-real_logits))
            + tf.reduce_mean(tf.nn.softplus(fake_logits))
        )
    for variable, gradient in zip(
        d.trainable_variables, tape.gradient(d_loss, d.trainable_variables), strict=True
    ):
        variable.assign_sub(0.1 * gradient)
    statistics = [tf.identity(v) for v in d.non_trainable_variables]
    with tf.GradientTape() as tape:
        fake = g(source, training=True)
        g_loss = tf.reduce_mean(tf.nn.softplus(-d([source, fake], training=True)))
        g_loss += 100.0 * tf.reduce_mean(tf.abs(target - fake))
    for variable, gradient in zip(
        g.trainable_variables, tape.gradient(g_loss, g.trainable_variables), strict=True
    ):
        variable.assign_sub(0.1 * gradient)
    for variable, value in zip(d.non_trainable_variables, statistics, strict=True):
        variable.assign(value)

    logs = model.train_on_batch(source, target, return_dict=True)
    for mine, theirs in ((model.generator, g), (model.discriminator, d)):
        for a, b in zip(mine.variables, theirs.variables, strict=True):
            np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(logs["d_loss"], float(d_loss), rtol=1e-5)
    assert {"g_l1_loss", "g_adversarial_loss", "psnr", "ssim"} <= set(logs)


def test_pix2pix_learns_a_paired_mapping_and_reports_psnr_and_ssim():
    model = make_pix2pix(l1_weight=100.0)
    model.compile(
        generator_optimizer=keras.optimizers.Adam(1e-2),
        discriminator_optimizer=keras.optimizers.Adam(1e-4),
    )
    sources = batch(3, size=8)
    targets = -0.5 * sources  # a mapping the tiny generator can represent
    data = tf.data.Dataset.from_tensor_slices((sources, targets)).batch(4).repeat()
    before = model.evaluate(sources, targets, verbose=0, return_dict=True)
    model.fit(data, steps_per_epoch=150, epochs=1, verbose=0)
    after = model.evaluate(sources, targets, verbose=0, return_dict=True)
    assert after["g_l1_loss"] < 0.25 * before["g_l1_loss"]
    assert after["psnr"] > before["psnr"] + 6 and after["ssim"] > before["ssim"]


def test_pix2pix_refuses_an_unconditional_discriminator_and_unpaired_batches():
    with pytest.raises(ValueError, match="conditional discriminator"):
        Pix2Pix(tiny_generator("g"), tiny_discriminator("d"))
    model = make_pix2pix()
    with pytest.raises(ValueError, match=r"\(source, target\) pairs"):
        model.fit(tf.data.Dataset.from_tensors(batch(1)), epochs=1, verbose=0)


def test_psnr_and_ssim_use_the_minus_one_to_one_range():
    images = batch(4)
    np.testing.assert_allclose(image_ssim(images, images).numpy(), 1.0, rtol=1e-6)
    noisy = images + 0.1
    # PSNR of a uniform 0.1 error on a range of 2: 20 log10(2 / 0.1).
    np.testing.assert_allclose(image_psnr(images, noisy).numpy(), 20 * np.log10(20), rtol=1e-4)


def test_image_pool_fills_then_returns_old_images_and_its_state_is_saved(tmp_path):
    pool = ImagePool(3, (2, 2, 1), seed=0)
    first = tf.reshape(tf.range(2 * 4, dtype=tf.float32), (2, 2, 2, 1))
    np.testing.assert_array_equal(pool(first).numpy(), first.numpy())  # not full: returned as is
    assert int(pool.count.numpy()) == 2
    seen = {float(v) for v in first.numpy()[:, 0, 0, 0]}
    outputs = []
    for step in range(20):
        images = tf.fill((1, 2, 2, 1), 100.0 + step)
        out = pool(images).numpy()
        outputs.append(float(out[0, 0, 0, 0]))
        stored = {float(v) for v in pool.images.numpy()[:, 0, 0, 0]}
        # Every returned image is either the new one or one the pool held before this call.
        assert outputs[-1] == 100.0 + step or outputs[-1] in seen
        seen = stored | seen
    assert int(pool.count.numpy()) == 3
    old = [value for step, value in enumerate(outputs[1:], 1) if value != 100.0 + step]
    assert 3 <= len(old) <= 17  # about half the images are swapped for history

    model = make_cyclegan(pool_size=4)
    model.train_on_batch(batch(1), batch(2))
    restored = keras_round_trip(model, tmp_path)
    np.testing.assert_array_equal(restored.pool_b.images.numpy(), model.pool_b.images.numpy())
    assert int(restored.pool_b.count.numpy()) == 2


def test_linear_decay_after_a_constant_phase():
    schedule = LinearDecayAfter(2e-4, constant_steps=100, decay_steps=100)
    values = [float(schedule(step)) for step in (0, 99, 100, 150, 200, 300)]
    np.testing.assert_allclose(values, [2e-4, 2e-4, 2e-4, 1e-4, 0.0, 0.0], atol=1e-12)
    assert LinearDecayAfter.from_config(schedule.get_config()).decay_steps == 100
    with pytest.raises(ValueError, match="decay_steps"):
        LinearDecayAfter(1e-3, 10, 0)


def test_cyclegan_step_leaves_d_statistics_to_d_and_trains_all_four_networks():
    model = make_cyclegan()
    before = {
        m.name: weights_of(m)
        for m in (*model.generator_networks(), *model.discriminator_networks())
    }
    logs = model.train_on_batch(batch(1), batch(2), return_dict=True)
    for network in (*model.generator_networks(), *model.discriminator_networks()):
        assert changed_paths(before[network.name], weights_of(network)), network.name
    assert {"cycle_loss", "identity_loss", "d_a_loss", "d_b_loss", "g_loss"} <= set(logs)
    assert "psnr" not in logs  # unpaired training batches have no truth to compare with
    assert model.identity_weight == 0.5 * model.cycle_weight == 5.0


def test_cyclegan_generator_update_ignores_the_discriminators_statistics():
    model = make_cyclegan()
    a, b = batch(1), batch(2)
    snapshot = model._frozen_discriminator_state()
    with tf.GradientTape():
        model.generator_terms(a, b, training=True)  # D in training mode moves its statistics
    moved = [v for v, s in zip(*snapshot, strict=True) if not np.array_equal(v.numpy(), s.numpy())]
    assert moved
    model._restore(snapshot)
    for variable, value in zip(*snapshot, strict=True):
        np.testing.assert_array_equal(variable.numpy(), value.numpy())


def test_cyclegan_without_a_pool_judges_the_fakes_once_with_the_two_phase_step_s_numbers():
    # Without a pool (the train-style default) D's update reuses the logits G's update computed:
    # two fewer discriminator passes, the same arithmetic as updating G, then D, separately.
    def make(shared):
        model = make_cyclegan(tiny_resnet, tiny_patchgan, pool_size=0)
        if not shared:
            model._judges_fakes_once = lambda: False
        return model

    shared, separate = make(True), make(False)
    separate.set_weights(shared.get_weights())
    assert shared._judges_fakes_once()
    for step in range(3):
        a, b = batch(10 + step), batch(20 + step)
        logs = [model.train_on_batch(a, b, return_dict=True) for model in (shared, separate)]
        for key in ("g_loss", "d_loss", "d_a_loss", "d_b_real_accuracy"):
            np.testing.assert_allclose(logs[0][key], logs[1][key], rtol=1e-5, atol=1e-6)
    # Adam divides each gradient by its own running size, so a weight whose gradients are all
    # near zero takes rounding-sized differences up to a share of a step (lr 2e-4 here):
    # 1.5e-6 apart was seen on an Intel Xeon. Judging other fakes would move weights by ~lr.
    for mine, theirs in zip(shared.get_weights(), separate.get_weights(), strict=True):
        np.testing.assert_allclose(mine, theirs, rtol=1e-4, atol=1e-5)
    d_calls = {}
    for model, key in ((shared, "shared"), (separate, "separate")):
        graph = tf.function(model.train_step).get_concrete_function((batch(1), batch(2))).graph
        convs = [op for op in graph.get_operations() if op.type == "Conv2D"]
        d_calls[key] = sum("d_a" in op.name or "d_b" in op.name for op in convs)
    assert d_calls["separate"] > 0 and d_calls["shared"] * 3 == d_calls["separate"] * 2  # 4 vs 6
    # A pool, a discriminator with statistics or explanation guidance keep the two phases.
    assert not make_cyclegan(pool_size=0)._judges_fakes_once()  # batch-norm discriminators
    assert not make_cyclegan()._judges_fakes_once()


def test_unpaired_discriminators_judge_augmented_images_in_training_only():
    from keras_styletransfer.models.cut import CUT

    images = batch(1)
    cyclegan = make_cyclegan(tiny_resnet, tiny_patchgan, pool_size=0, augment="translation,cutout")
    cut = CUT(tiny_resnet("g"), tiny_patchgan("d"), augment=("cutout",), seed=3)
    judges = [
        lambda training: cyclegan._logits(cyclegan.discriminator_b, images, training),
        lambda training: cut._discriminate(images, training),
    ]
    for judge in judges:
        # The tiny PatchGAN has instance norm only: training mode alone changes nothing, so a
        # difference is the augmentation's; evaluation and explanations see the images as they are.
        assert not np.allclose(judge(True), judge(False), atol=1e-4)
        np.testing.assert_array_equal(judge(False), judge(False))
    assert CycleGAN.from_config(cyclegan.get_config()).augment == ("translation", "cutout")
    assert CUT.from_config(cut.get_config()).augment == ("cutout",)
    logs = cyclegan.train_on_batch(images, batch(2), return_dict=True)
    assert np.isfinite(logs["g_loss"]) and np.isfinite(logs["d_loss"])
    with pytest.raises(ValueError, match="Unknown augmentation 'flip'"):
        make_cyclegan(augment="flip")


def test_cyclegan_round_trip_gives_identical_outputs_and_resumes_identically(tmp_path):
    a, b = batch(1), batch(2)
    model = make_cyclegan()
    model.train_on_batch(a, b)
    restored = keras_round_trip(model, tmp_path)
    np.testing.assert_allclose(restored(a).numpy(), model(a).numpy(), atol=1e-6)
    for _ in range(2):  # both continue the same way: optimizers, pools and seeds were saved
        model.train_on_batch(a, b)
        restored.train_on_batch(a, b)
    assert_weights_equal(
        weights_of(model, skip_seed_states=False), weights_of(restored, skip_seed_states=False)
    )
    assert os.path.exists(tmp_path / "model.keras")


def test_cyclegan_validation_reports_psnr_and_ssim_against_paired_truth():
    model = make_cyclegan()
    logs = model.evaluate(batch(1), batch(2), verbose=0, return_dict=True)
    assert {"psnr", "ssim", "cycle_loss"} <= set(logs)


def test_cyclegan_pool_needs_an_image_shape_for_any_size_generators():
    with pytest.raises(ValueError, match="training crop size"):
        make_cyclegan(image_shape=None)
    assert make_cyclegan(image_shape=None, pool_size=0).pool_b.pool_size == 0


def tiny_style_generator(domains):
    image = keras.Input((None, None, 3), name="image")
    style = keras.Input((domains,), name="style")
    strength = keras.Input((1,), name="strength")
    condition = keras.layers.Multiply()([style, strength])
    shift = keras.layers.Dense(3, name="shift")(condition)
    x = keras.layers.Conv2D(3, 3, padding="same", activation="tanh")(image)
    x = keras.layers.Add()([x, keras.layers.Reshape((1, 1, 3))(shift)])
    blended = keras.layers.Lambda(lambda t: t[0] + t[2][:, :, None, None] * (t[1] - t[0]))(
        [image, x, strength]
    )
    return keras.Model({"image": image, "style": style, "strength": strength}, blended)


def tiny_style_discriminator(domains):
    images = keras.Input((None, None, 3))
    x = keras.layers.Conv2D(4, 4, strides=2, padding="same", activation="relu")(images)
    x = keras.layers.GlobalAveragePooling2D()(x)
    return keras.Model(images, [keras.layers.Dense(1)(x), keras.layers.Dense(domains)(x)])


def make_multistyle(**kwargs):
    model = MultiStyleGAN(
        tiny_style_generator(3),
        tiny_style_discriminator(3),
        ["pencil", "cartoon"],
        seed=1,
        **kwargs,
    )
    model.compile(
        generator_optimizer=keras.optimizers.Adam(1e-3),
        discriminator_optimizer=keras.optimizers.Adam(1e-3),
    )
    return model


def test_multistyle_step_trains_both_and_reports_style_terms():
    model = make_multistyle()
    content, styled = batch(1), batch(2)
    indices = tf.constant([0, 1])
    before_g, before_d = weights_of(model.generator), weights_of(model.discriminator)
    logs = model.train_on_batch((content, styled, indices), return_dict=True)
    assert changed_paths(before_g, weights_of(model.generator))
    assert changed_paths(before_d, weights_of(model.discriminator))
    assert {"g_style_loss", "d_style_loss", "cycle_loss", "d_style_accuracy"} <= set(logs)
    assert model.domain_names == ["pencil", "cartoon", "photo"]
    rendered = model.render(content, tf.constant([0, 1]), 0.0)
    np.testing.assert_allclose(rendered.numpy(), content.numpy(), atol=1e-6)  # strength 0


def test_multistyle_round_trip_and_clear_errors(tmp_path):
    model = make_multistyle()
    model.train_on_batch((batch(1), batch(2), tf.constant([0, 1])))
    path = str(tmp_path / "multistyle.keras")
    model.save(path)
    restored = keras.saving.load_model(path, safe_mode=False)  # the test G has a Lambda layer
    assert restored.style_names == ["pencil", "cartoon"]
    inputs = {"image": batch(3), "style": tf.one_hot([1, 0], 3), "strength": tf.fill((2, 1), 0.7)}
    np.testing.assert_allclose(restored(inputs).numpy(), model(inputs).numpy(), atol=1e-6)
    with pytest.raises(ValueError, match="3 style slots; 3 styles plus the content domain need 4"):
        MultiStyleGAN(tiny_style_generator(3), tiny_style_discriminator(3), ["a", "b", "c"])
    with pytest.raises(ValueError, match="style_indices"):
        model.train_on_batch((batch(1), batch(2)))


def test_multistyle_identity_term_is_each_painting_rendered_in_its_own_style(tmp_path):
    model = make_multistyle(identity_weight=3.0)
    content, styled, indices = batch(1), batch(2), tf.constant([1, 0])
    terms = model.compute_losses(content, styled, indices)
    same = model.render(styled, indices).numpy()  # each painting through its own style's slot
    expected = np.abs(same - styled.numpy()).mean(axis=(1, 2, 3))
    np.testing.assert_allclose(terms["identity_loss"], expected, rtol=1e-5)
    rest = terms["g_adversarial_loss"] + terms["g_style_loss"] + 10.0 * terms["cycle_loss"]
    np.testing.assert_allclose(terms["g_loss"], rest + 3.0 * expected, rtol=1e-5)
    assert "identity_loss" not in make_multistyle().compute_losses(content, styled, indices)
    logs = model.train_on_batch((content, styled, indices), return_dict=True)
    assert logs["identity_loss"] > 0
    path = str(tmp_path / "identity.keras")
    model.save(path)
    assert keras.saving.load_model(path, safe_mode=False).identity_weight == 3.0
    with pytest.raises(ValueError, match="identity_weight"):
        make_multistyle(identity_weight=-1.0)
    # One weight per style: each painting's term weighed by its own style's.
    per_style = make_multistyle(identity_weight=[0.5, 2.0])
    terms = per_style.compute_losses(content, styled, indices)
    same = per_style.render(styled, indices).numpy()
    expected = np.abs(same - styled.numpy()).mean(axis=(1, 2, 3))
    rest = terms["g_adversarial_loss"] + terms["g_style_loss"] + 10.0 * terms["cycle_loss"]
    np.testing.assert_allclose(terms["g_loss"], rest + [2.0, 0.5] * expected, rtol=1e-5)
    per_style.save(path)
    assert keras.saving.load_model(path, safe_mode=False).identity_weight == [0.5, 2.0]
    with pytest.raises(ValueError, match="one per style"):
        make_multistyle(identity_weight=[1.0, 1.0, 1.0])


def tiny_multitask_discriminator(domains):
    images = keras.Input((None, None, 3))
    x = keras.layers.Conv2D(4, 4, strides=2, padding="same", activation="relu")(images)
    return keras.Model(images, keras.layers.Conv2D(domains, 3, padding="same")(x))


def test_multistyle_multitask_d_judges_each_image_on_its_own_domain_s_map(tmp_path):
    model = MultiStyleGAN(
        tiny_style_generator(3),
        tiny_multitask_discriminator(3),
        ["pencil", "cartoon"],
        r1_weight=2.0,
        seed=1,
    )
    model.compile(
        generator_optimizer=keras.optimizers.Adam(1e-3),
        discriminator_optimizer=keras.optimizers.Adam(1e-3),
    )
    assert model.multitask
    content, styled, indices = batch(1), batch(2), tf.constant([1, 0])
    terms = model.compute_losses(content, styled, indices)
    fake = model.render(content, indices)
    half = model.adversarial_loss

    def maps(images, domains):  # each image's own domain's map, picked by hand
        logits = model.discriminator(images).numpy()
        return tf.constant(np.stack([logits[i, ..., d : d + 1] for i, d in enumerate(domains)]))

    photo = [2, 2]
    expected_d = 0.5 * (
        half.real_half(maps(styled, [1, 0])) + half.real_half(maps(content, photo))
    ) + half.fake_half(maps(fake, [1, 0]))
    np.testing.assert_allclose(terms["d_adversarial_loss"], expected_d, rtol=1e-5)
    np.testing.assert_allclose(
        terms["g_adversarial_loss"], half.generator(maps(fake, [1, 0])), rtol=1e-5
    )
    # The accuracies: does each painting's (render's) own style map call it real?
    for key, images in (("d_style_accuracy", styled), ("g_style_accuracy", fake)):
        verdict = maps(images, [1, 0]).numpy().mean(axis=(1, 2, 3))
        called_real = (verdict > half.decision_threshold).astype("float32")
        np.testing.assert_array_equal(terms[key], called_real)

    # R1: half the squared slope of each real image's own-domain verdict (mean over patches).
    def slope(images, domains):
        images = tf.constant(images)
        with tf.GradientTape() as tape:
            tape.watch(images)
            logits = model.discriminator(images, training=True)
            picked = tf.stack([tf.reduce_mean(logits[i, ..., d]) for i, d in enumerate(domains)])
            total = tf.reduce_sum(picked)
        return 0.5 * (tape.gradient(total, images).numpy().reshape(2, -1) ** 2).sum(axis=1)

    expected_r1 = 0.5 * (slope(styled, [1, 0]) + slope(content, photo))
    np.testing.assert_allclose(terms["d_r1_penalty"], expected_r1, rtol=1e-4)
    np.testing.assert_allclose(terms["d_loss"], expected_d + 2.0 * expected_r1, rtol=1e-5)
    # No classifier: no classification losses; the accuracies read the domain maps.
    before_g, before_d = weights_of(model.generator), weights_of(model.discriminator)
    logs = model.train_on_batch((content, styled, indices), return_dict=True)
    assert changed_paths(before_g, weights_of(model.generator))
    assert changed_paths(before_d, weights_of(model.discriminator))
    assert "g_style_loss" not in logs and "d_style_loss" not in logs
    assert {"d_style_accuracy", "g_style_accuracy", "d_r1_penalty", "cycle_loss"} <= set(logs)
    # D's verdict on a batch of renders is the render's target domain's map.
    logits = model.discriminator_logits(fake, {"indices": indices})
    np.testing.assert_allclose(logits, maps(fake, [1, 0]), rtol=1e-5)
    path = str(tmp_path / "multitask.keras")
    model.save(path)
    restored = keras.saving.load_model(path, safe_mode=False)
    assert restored.multitask and restored.r1_weight == 2.0
    with pytest.raises(ValueError, match=r"PatchGANDiscriminator\(num_outputs=3\)"):
        MultiStyleGAN(tiny_style_generator(3), tiny_multitask_discriminator(2), ["a", "b"])


def test_the_multitask_preset_keeps_the_model_contract():
    from keras_styletransfer.models.discriminators import PatchGANDiscriminator
    from keras_styletransfer.models.presets import get_translation_preset
    from tests.models import test_models as contract

    styles = ("pencil", "cartoon")
    model = get_translation_preset("multistyle_multitask").build(16, 4, styles, seed=0)
    assert model.family == "multistyle" and model.multitask and model.r1_weight == 10.0
    assert model.cycle_weight == 1.0
    assert isinstance(model.discriminator, PatchGANDiscriminator)
    assert model.discriminator.outputs[0].shape[-1] == 3  # pencil, cartoon, photo
    assert model.generator.get_config()["operators"] is True
    assert model.generator.get_config()["upsampling"] == "resize"  # no grid of dots
    contract.check_preset_contract(model)
