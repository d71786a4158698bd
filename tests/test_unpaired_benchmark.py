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
