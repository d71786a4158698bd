"""benchmarks/unpaired.py: its options, and a tiny budgeted run that writes well-formed JSON."""

import json

import numpy as np
import pytest
from PIL import Image

from benchmarks import unpaired
from keras_styletransfer.errors import InputError


def test_variants_parse_to_numbers_and_unknown_keys_are_refused():
    assert unpaired.parse_variant("learning_rate=1e-3,blocks=3,upsampling=resize") == {
        "learning_rate": 1e-3,
        "blocks": 3,
        "upsampling": "resize",
    }
    assert unpaired.parse_variant("") == {}
    with pytest.raises(InputError, match="key one of"):
        unpaired.parse_variant("dropout=0.5")


def test_variants_build_residual_generators_and_a_slower_discriminator():
    from keras_styletransfer.config import TranslationConfig

    config = TranslationConfig("cut", styles=("pencil",), image_size=32, filters=4, epochs=1)
    variant = unpaired.parse_variant("residual=1,blocks=1,d_learning_rate_scale=0.1")
    model = unpaired.build_model(config, variant)
    assert model.generator.get_config()["residual"] is True
    g_rate = model.generator_optimizer._learning_rate
    d_rate = model.discriminator_optimizer._learning_rate
    np.testing.assert_allclose(float(d_rate(0)), 0.1 * float(g_rate(0)), rtol=1e-6)
    plain = unpaired.build_model(config, unpaired.parse_variant("d_learning_rate_scale=0.5"))
    assert plain.generator.get_config()["residual"] is False
    assert plain.generator.get_config()["operators"] is False
    editing = unpaired.build_model(config, unpaired.parse_variant("operators=1,blocks=1"))
    assert editing.generator.get_config()["operators"] is True
    np.testing.assert_allclose(
        float(plain.discriminator_optimizer._learning_rate(0)),
        0.5 * float(plain.generator_optimizer._learning_rate(0)),
        rtol=1e-6,
    )


def test_bad_options_are_one_line_errors_before_any_work(tmp_path, capsys):
    out = str(tmp_path / "r.json")
    assert unpaired.main(["--families", "stargan", "--out", out]) == 2
    assert "choose from cyclegan, cut, fastcut, multistyle" in capsys.readouterr().err
    assert unpaired.main(["--budget-minutes", "0", "--out", out]) == 2
    args = ["--families", "multistyle", "--variant", "blocks=3", "--out", out]
    assert unpaired.main(args) == 2
    (tmp_path / "r.json").write_text("{}")
    assert unpaired.main(["--out", out]) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert unpaired.main(["--together", "--families", "cut", "--out", out]) == 2
    assert "--together trains one multi-style model" in capsys.readouterr().err


@pytest.mark.slow
def test_a_tiny_budget_trains_each_family_for_the_budget_and_scores_it(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_STYLETRANSFER_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "r.json"
    arguments = ["--budget-minutes", "0.1", "--styles", "pencil", "--families", "cut,cyclegan"]
    arguments += ["--image-size", "32", "--filters", "4", "--batch-size", "2", "--no-judge"]
    arguments += ["--variant", "blocks=1", "--out", str(out)]
    arguments += ["--previews", str(tmp_path / "previews")]
    assert unpaired.main(arguments) == 0
    results = json.loads(out.read_text())
    assert set(results["runs"]) == {"cut_pencil", "cyclegan_pencil"}
    assert results["split"] == "auto"  # the unpaired families' own: halves
    for family, entry in zip(("cut", "cyclegan"), results["runs"].values(), strict=True):
        assert entry["steps"] >= 1 and entry["training_seconds"] < 60
        assert entry["variant"] == {"blocks": 1} and entry["offline_split"] == "halves"
        assert set(entry["metrics"]) == {"crops", "256"}
        assert -1 <= entry["metrics"]["crops"]["ssim"] <= 1
        # The preview: rows of held-out photos, the model's outputs and the exact style,
        # each crop enlarged 3x (tiles of 32 px with 2 px of padding, then 3x).
        assert entry["preview"] == str(tmp_path / "previews" / f"{family}_pencil_blocks-1.png")
        preview = np.asarray(Image.open(entry["preview"]))
        assert preview.shape == (3 * (3 * 34 - 2), 3 * (unpaired.PREVIEW_CROPS * 34 - 2), 3)
    # Another run never writes over a preview: refused before any work.
    out.unlink()
    assert unpaired.main(arguments) == 2
    assert not out.exists()


def test_references_score_fixed_outputs_whose_figures_follow_from_their_definition():
    from keras_styletransfer.evaluation import score_outputs
    from keras_styletransfer.images import to_model_range

    rng = np.random.default_rng(0)
    photos = rng.integers(0, 256, (3, 32, 32, 3), dtype=np.uint8)
    truths = rng.integers(0, 256, (3, 32, 32, 3), dtype=np.uint8)
    references = unpaired.reference_outputs(photos, truths)
    shifted = references["the exact style, one pixel to the right"]
    np.testing.assert_array_equal(shifted[:, :, 1:], truths[:, :, :-1])
    # Outlines only darken, and more at full strength than at half.
    half = references["the photo with half-strength outlines"].astype(int)
    full = references["the photo with full-strength outlines"].astype(int)
    assert (half <= photos.astype(int) + 1).all() and (full <= half + 1).all()
    assert (full < half).any()

    def scores(outputs):
        return score_outputs(*([to_model_range(i) for i in x] for x in (outputs, truths, photos)))

    # Halfway between the photo and the truth halves every error: PSNR 6.02 dB above the
    # photo's (to the rounding of uint8 halves).
    halfway = scores(references["halfway between the photo and the exact style"])
    assert abs(halfway["psnr"] - halfway["baseline_psnr"] - 20 * np.log10(2)) < 0.05
    assert scores(truths)["ssim_gap_closed"] == pytest.approx(1.0)


def test_the_references_option_writes_scores_per_style_without_training(
    tmp_path, capsys, monkeypatch
):
    monkeypatch.setenv("KERAS_STYLETRANSFER_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "references.json"
    argv = ["--references", "--styles", "watercolour", "--image-size", "32", "--out", str(out)]
    assert unpaired.main(argv) == 0
    results = json.loads(out.read_text())
    scores = results["references"]["watercolour"]
    assert "runs" not in results and len(scores) == 7
    for score in scores.values():
        assert score["count"] > 0 and -1 <= score["ssim"] <= 1
    assert scores["the exact style, one pixel to the right"]["ssim_gap_closed"] > 0.3
    assert "| watercolour | Gaussian blur, sigma 1 |" in capsys.readouterr().out
    assert unpaired.main(argv) == 2  # never written over without --overwrite


def test_a_multi_style_model_previews_the_style_it_was_trained_for(tmp_path):
    import types

    from keras_styletransfer.config import TranslationConfig
    from keras_styletransfer.evaluation import translate
    from keras_styletransfer.images import to_uint8

    config = TranslationConfig("multistyle", styles=("pencil",), image_size=32, filters=4)
    model = unpaired.build_model(config, {})
    assert "photo" in model.generator_style_names  # one style is not enough to pick from
    rng = np.random.default_rng(0)
    crops = rng.integers(0, 256, (unpaired.PREVIEW_CROPS, 32, 32, 3), dtype=np.uint8)
    data = types.SimpleNamespace(test_crops=crops, test_crop_targets={"pencil": crops[..., ::-1]})
    path = unpaired.write_preview(model, data, "pencil", "multistyle", {}, str(tmp_path))
    sheet = np.asarray(Image.open(path))
    # The middle row, un-enlarged: the model's pencil rendering of each crop.
    row = sheet[3 * 34 : 3 * 34 + 3 * 32 : 3, : 3 * 32 : 3]
    expected = to_uint8(translate(model, crops[:1], style="pencil"))[0]
    np.testing.assert_array_equal(row, expected)


@pytest.mark.slow
def test_together_trains_one_multi_style_model_and_scores_each_style(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_STYLETRANSFER_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "r.json"
    arguments = ["--budget-minutes", "0.05", "--styles", "pencil,oil", "--families", "multistyle"]
    arguments += ["--together", "--image-size", "32", "--filters", "4", "--batch-size", "2"]
    arguments += ["--no-judge", "--variant", "operators=1", "--out", str(out)]
    arguments += ["--previews", str(tmp_path / "previews")]
    assert unpaired.main(arguments) == 0
    runs = json.loads(out.read_text())["runs"]
    assert set(runs) == {"multistyle_pencil", "multistyle_oil"}
    pencil, oil = runs["multistyle_pencil"], runs["multistyle_oil"]
    # One model, trained once on both styles: the same steps, scored per style.
    assert pencil["trained_on"] == oil["trained_on"] == ["pencil", "oil"]
    assert pencil["steps"] == oil["steps"] >= 1
    assert pencil["metrics"]["crops"]["baseline_ssim"] != oil["metrics"]["crops"]["baseline_ssim"]
    for style, entry in runs.items():
        assert entry["variant"] == {"operators": 1}
        assert Image.open(entry["preview"]).size[0] == 3 * (unpaired.PREVIEW_CROPS * 34 - 2)
        assert entry["preview"].endswith(f"{style}_operators-1.png")
