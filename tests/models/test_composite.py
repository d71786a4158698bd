"""Fusion: network interpolation, output mixtures, style blends, and the fuse command."""

import keras
import numpy as np
import pytest

from keras_styletransfer.cli import main
from keras_styletransfer.errors import InputError
from keras_styletransfer.models import composite as fusion
from keras_styletransfer.models import discriminators, generators


def unet(filters=4):
    return generators.UNetGenerator(num_downsamplings=2, filters=filters, max_filters=8)


def images(count=3, size=8, seed=0):
    return np.random.default_rng(seed).uniform(-1, 1, (count, size, size, 3)).astype("float32")


def scaling_generator(scale, name):
    """A generator whose output is `scale * x` (a known, easily judged output)."""
    inputs = keras.Input((None, None, 3), name="image")
    return keras.Model(inputs, keras.layers.Rescaling(scale, name="scale")(inputs), name=name)


def mean_judge():
    """A discriminator whose logit is the image's mean: brighter looks more real."""
    inputs = keras.Input((None, None, 3), name="image")
    pooled = keras.layers.GlobalAveragePooling2D(name="pool")(inputs)
    dense = keras.layers.Dense(1, name="logit")
    logits = dense(pooled)
    dense.set_weights([np.ones((3, 1), "float32"), np.zeros(1, "float32")])
    return keras.Model(inputs, logits, name="judge")


def same_weights(model_a, model_b):
    weights_a, weights_b = model_a.get_weights(), model_b.get_weights()
    return len(weights_a) == len(weights_b) and all(
        np.array_equal(a, b) for a, b in zip(weights_a, weights_b, strict=True)
    )


# --- interpolation ----------------------------------------------------------------------------


def test_interpolation_endpoints_reproduce_each_generator_exactly():
    generator_a, generator_b = unet(), unet()
    x = images()
    assert not same_weights(generator_a, generator_b)
    at_a = fusion.interpolate(generator_a, generator_b, 0.0)
    at_b = fusion.interpolate(generator_a, generator_b, 1)
    assert same_weights(at_a, generator_a) and same_weights(at_b, generator_b)
    assert np.array_equal(at_a(x), generator_a(x))
    assert np.array_equal(at_b(x), generator_b(x))
    middle = fusion.interpolate(generator_a, generator_b, 0.3, name="middle")
    assert isinstance(middle, generators.UNetGenerator) and middle.name == "middle"
    for a, b, m in zip(
        generator_a.get_weights(), generator_b.get_weights(), middle.get_weights(), strict=True
    ):
        np.testing.assert_allclose(m, 0.7 * a + 0.3 * b, rtol=1e-6, atol=1e-7)
    # The sources are left as they were.
    assert not same_weights(middle, generator_a)


def test_interpolation_names_the_first_difference():
    with pytest.raises(InputError, match=r"first difference: filters: 4 vs 8"):
        fusion.interpolate(unet(4), unet(8), 0.5)
    resnet = generators.ResnetGenerator(num_residual_blocks=1, filters=4)
    with pytest.raises(InputError, match=r"UNetGenerator with a ResnetGenerator"):
        fusion.interpolate(unet(), resnet, 0.5)
    for alpha in (-0.1, 1.5, "half", True):
        with pytest.raises(InputError, match="alpha"):
            fusion.interpolate(unet(), unet(), alpha)


# --- mixtures ---------------------------------------------------------------------------------


def test_mixtures_of_identical_generators_equal_each_one():
    generator = unet()
    copies = [fusion.copy_model(generator), fusion.copy_model(generator)]
    x = images()
    expected = np.asarray(generator(x))
    assert np.array_equal(fusion.MixtureGenerator(copies)(x), expected)
    # The same object twice is copied, not shared, so the mixture still saves.
    thirds = fusion.MixtureGenerator([generator, generator, copies[0]])
    np.testing.assert_allclose(thirds(x), expected, rtol=0, atol=1e-6)
    judge = discriminators.PatchGANDiscriminator(num_layers=1, filters=4, conditional=True)
    chosen = fusion.MixtureGenerator(copies, discriminator=judge, mode="choose")
    assert np.array_equal(chosen(x), expected)


def test_an_average_is_the_weighted_sum_of_the_outputs():
    members = [unet(), unet(), unet()]
    x = images()
    mixture = fusion.MixtureGenerator(members, mixture_weights=[0.2, 0.3, 0.5])
    expected = sum(w * np.asarray(g(x)) for w, g in zip((0.2, 0.3, 0.5), members, strict=True))
    np.testing.assert_allclose(mixture(x), expected, rtol=1e-6, atol=1e-6)
    assert mixture.size_multiple == 4


def test_choose_takes_per_image_the_output_the_discriminator_rates_most_real():
    brighter = scaling_generator(1.0, "identity")
    darker = scaling_generator(-1.0, "negative")
    mixture = fusion.MixtureGenerator([brighter, darker], discriminator=mean_judge(), mode="choose")
    x = images(count=6)
    x[:3] = np.abs(x[:3])  # positive means: the identity wins
    x[3:] = -np.abs(x[3:])  # negative means: the negation wins
    expected = np.concatenate([x[:3], -x[3:]])
    assert np.array_equal(mixture(x), expected)


@pytest.mark.parametrize(
    ("weights", "message"),
    [
        ([0.5, 0.6], "must sum to 1"),
        ([1.5, -0.5], "finite and >= 0"),
        ([1.0], "one weight per generator: 2 generators, 1 weights"),
        ([float("nan"), 1.0], "finite and >= 0"),
        (["a", "b"], "must be numbers"),
    ],
)
def test_mixture_weights_are_validated(weights, message):
    with pytest.raises(InputError, match=message):
        fusion.MixtureGenerator([unet(), unet()], mixture_weights=weights)


def test_mixture_inputs_are_validated():
    with pytest.raises(InputError, match="needs a discriminator"):
        fusion.MixtureGenerator([unet(), unet()], mode="choose")
    with pytest.raises(InputError, match="unknown mixture mode 'vote'"):
        fusion.MixtureGenerator([unet(), unet()], mode="vote")
    style = generators.StyleGenerator(num_styles=2, filters=4, num_residual_blocks=1)
    with pytest.raises(InputError, match="takes 3 inputs"):
        fusion.MixtureGenerator([unet(), style])


@pytest.mark.parametrize("mode", ["average", "choose"])
def test_mixtures_round_trip_through_keras_files(mode, tmp_path):
    judge = discriminators.PatchGANDiscriminator(num_layers=1, filters=4, conditional=True)
    mixture = fusion.MixtureGenerator(
        [unet(), unet()],
        mixture_weights=[0.25, 0.75] if mode == "average" else None,
        discriminator=judge if mode == "choose" else None,
        mode=mode,
    )
    path = str(tmp_path / "mixture.keras")
    mixture.save(path)
    reloaded = keras.saving.load_model(path)
    assert isinstance(reloaded, fusion.MixtureGenerator) and reloaded.mode == mode
    x = images()
    assert np.array_equal(reloaded(x), mixture(x))  # fresh weights would differ


def test_a_fused_generator_exports_like_any_generator(tmp_path):
    import tensorflow as tf

    mixture = fusion.MixtureGenerator([unet(), unet()], mixture_weights=[0.4, 0.6])
    mixture.export(str(tmp_path / "saved_model"), verbose=False)
    served = tf.saved_model.load(str(tmp_path / "saved_model"))
    x = images(count=2, size=16)
    outputs = served.signatures["serving_default"](tf.constant(x))
    np.testing.assert_allclose(next(iter(outputs.values())), mixture(x), rtol=1e-5, atol=1e-6)


# --- style blends -----------------------------------------------------------------------------


NAMES = ["pencil", "cartoon", "photo"]


def test_style_blend_validates_the_weights():
    from keras_styletransfer.validation import style_weights

    blend = fusion.style_blend({"pencil": 0.25, "cartoon": 0.75}, NAMES)
    assert blend.dtype == np.float32 and blend.tolist() == [0.25, 0.75, 0.0]
    assert fusion.style_blend([0, 0, 1], NAMES).tolist() == [0.0, 0.0, 1.0]
    # The one style rule: weights are normalised, as `stylize --blend a=1,b=1` does.
    equal = fusion.style_blend({"pencil": 1, "cartoon": 1}, NAMES)
    assert equal.tolist() == [0.5, 0.5, 0.0]
    uneven = {"pencil": 0.5, "cartoon": 0.7}
    np.testing.assert_array_equal(fusion.style_blend(uneven, NAMES), style_weights(uneven, NAMES))
    np.testing.assert_allclose(fusion.style_blend(uneven, NAMES), [0.5 / 1.2, 0.7 / 1.2, 0.0])
    with pytest.raises(InputError, match=r"unknown style 'oil'; this model knows"):
        fusion.style_blend({"oil": 1.0}, NAMES)
    with pytest.raises(InputError, match="finite and >= 0"):
        fusion.style_blend({"pencil": 1.5, "cartoon": -0.5}, NAMES)
    with pytest.raises(InputError, match="finite and >= 0"):
        fusion.style_blend({"pencil": float("inf")}, NAMES)
    with pytest.raises(InputError, match="must not all be 0"):
        fusion.style_blend({"pencil": 0.0, "cartoon": 0.0}, NAMES)
    with pytest.raises(InputError, match="one entry per style"):
        fusion.style_blend([0.5, 0.5], NAMES)


def test_a_style_blend_generator_is_the_multistyle_generator_at_fixed_inputs(tmp_path):
    style_generator = generators.StyleGenerator(num_styles=3, filters=4, num_residual_blocks=1)
    blended = fusion.StyleBlendGenerator(
        style_generator, {"pencil": 0.5, "cartoon": 0.5}, NAMES, strength=0.6
    )
    x = images(size=8)
    style = np.tile([[0.5, 0.5, 0.0]], (3, 1)).astype("float32")
    strength = np.full((3, 1), 0.6, "float32")
    expected = np.asarray(style_generator([x, style, strength]))
    np.testing.assert_allclose(blended(x), expected, rtol=0, atol=1e-6)
    assert len(blended.inputs) == 1
    blended.save(str(tmp_path / "blend.keras"))
    reloaded = keras.saving.load_model(str(tmp_path / "blend.keras"))
    assert np.array_equal(reloaded(x), blended(x))
    assert reloaded.style_weights == {"pencil": 0.5, "cartoon": 0.5, "photo": 0.0}


# --- the command ------------------------------------------------------------------------------


@pytest.fixture
def saved_generators(tmp_path):
    paths = []
    for index in range(2):
        path = str(tmp_path / f"g{index}.keras")
        unet().save(path)
        paths.append(path)
    return paths


def test_fuse_command_interpolates_and_averages(saved_generators, tmp_path):
    first, second = (keras.saving.load_model(p) for p in saved_generators)
    x = images()
    out = str(tmp_path / "fused.keras")
    # One output file, written again with --overwrite (without it a second fuse is refused).
    arguments = ["fuse", "--models", *saved_generators, "--out", out, "--overwrite"]
    assert main([*arguments, "--mode", "interpolate", "--alpha", "0"]) == 0
    assert np.array_equal(keras.saving.load_model(out)(x), first(x))
    assert main([*arguments, "--mode", "interpolate", "--alpha", "1"]) == 0
    assert np.array_equal(keras.saving.load_model(out)(x), second(x))
    assert main([*arguments, "--mode", "average", "--weights", "0.2,0.8"]) == 0
    expected = 0.2 * np.asarray(first(x)) + 0.8 * np.asarray(second(x))
    np.testing.assert_allclose(keras.saving.load_model(out)(x), expected, rtol=1e-6, atol=1e-6)


def test_fuse_command_reports_bad_input(saved_generators, tmp_path, capsys):
    out = str(tmp_path / "fused.keras")
    arguments = ["fuse", "--models", *saved_generators, "--out", out]
    cases = [
        (["--mode", "vote"], "unknown mode 'vote'; choose one of interpolate, average"),
        (["--mode", "average", "--weights", "0.2,0.9"], "must sum to 1"),
        (["--mode", "interpolate"], "exactly two --models and --alpha"),
        (["--mode", "choose"], "holds no discriminator; pass --discriminator"),
        (["--mode", "blend", "--weights", "a=1"], "takes one multi-style model"),
    ]
    for extra, message in cases:
        assert main([*arguments, *extra]) == 2, extra
        assert message in capsys.readouterr().err, extra
    assert main(["fuse", "--models", *saved_generators, "--out", "x.h5"]) == 2
    assert "must name a .keras file" in capsys.readouterr().err


def test_fuse_command_blends_a_multistyle_model(tmp_path):
    from keras_styletransfer.models.multistyle import MultiStyleGAN

    model = MultiStyleGAN(
        generators.StyleGenerator(num_styles=3, filters=4, num_residual_blocks=1),
        discriminators.GlobalPoolDiscriminator(filters=4, num_styles=3),
        style_names=["pencil", "cartoon"],
    )
    source, out = str(tmp_path / "multi.keras"), str(tmp_path / "blend.keras")
    model.save(source)
    arguments = ["fuse", "--models", source, "--mode", "blend", "--out", out, "--overwrite"]
    assert main([*arguments, "--weights", "pencil=0.25,cartoon=0.75", "--strength", "0.5"]) == 0
    blended = keras.saving.load_model(out)
    x = images()
    style = np.tile([[0.25, 0.75, 0.0]], (3, 1)).astype("float32")
    expected = model.generator([x, style, np.full((3, 1), 0.5, "float32")])
    np.testing.assert_allclose(blended(x), expected, rtol=0, atol=1e-6)
    assert main([*arguments, "--weights", "pencil=0.25,oil=0.75"]) == 2
    # The same rule as `stylize --blend`: weights need not sum to 1, they are normalised.
    assert main([*arguments, "--weights", "pencil=1,cartoon=1"]) == 0
    assert keras.saving.load_model(out).style_weights == {
        "pencil": 0.5,
        "cartoon": 0.5,
        "photo": 0.0,
    }
