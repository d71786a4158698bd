"""Every kind of run (noise GAN, translation, fine-tuning) goes through the one run skeleton and
writes the same artefact layout."""

import json

import pytest

from keras_styletransfer.config import TrainConfig, TranslationConfig

LAYOUT = (
    "config.json",
    "final.keras",
    "generator.keras",
    "checkpoints/last.keras",
    "history.json",
)
SIGNATURES = {"serving_default", "serve_uint8", "serve_bytes"}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """One tiny run of each kind: name -> (run folder, export name)."""
    from keras_styletransfer.training.fine_tune import fine_tune
    from keras_styletransfer.training.noise import train
    from keras_styletransfer.training.translation import train_translation

    root = tmp_path_factory.mktemp("runs")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("KERAS_STYLETRANSFER_CACHE", str(root / "cache"))
        train(
            TrainConfig("mnist_dcgan", epochs=1, batch_size=8, steps_per_epoch=2),
            str(root / "noise"),
            verbose=0,
        )
        translation = TranslationConfig(
            family="pix2pix", image_size=32, filters=4, epochs=1, steps_per_epoch=2, batch_size=2
        )
        train_translation(translation, str(root / "pix2pix"), verbose=0)
        fine_tune(
            str(root / "pix2pix" / "final.keras"),
            "watercolour",
            train_policy="last:2",
            steps=2,
            steps_per_epoch=2,
            images=4,
            batch_size=2,
            run_dir=str(root / "fine_tune"),
        )
    return {
        "noise": (root / "noise", "mnist_dcgan"),
        "pix2pix": (root / "pix2pix", "pix2pix_pencil"),
        "fine_tune": (root / "fine_tune", "pix2pix_watercolour"),
    }


@pytest.mark.parametrize("kind", ["noise", "pix2pix", "fine_tune"])
def test_every_kind_of_run_writes_the_same_layout(runs, kind):
    import tensorflow as tf

    run_dir, name = runs[kind]
    for path in LAYOUT:
        assert (run_dir / path).is_file(), (kind, path)
    logs = [path for path in (run_dir / "logs").rglob("events.out.tfevents*")]
    assert logs, kind
    history = json.loads((run_dir / "history.json").read_text())
    assert history["initial_epoch"] == 0 and len(history["g_loss"]) == 1
    assert json.loads((run_dir / "config.json").read_text())["epochs"] == 1
    exported = run_dir / "exported" / name / "1"
    assert (exported / "saved_model.pb").is_file(), kind
    assert set(tf.saved_model.load(str(exported)).signatures) >= SIGNATURES, kind
    assert not (run_dir / "backup").exists()  # deleted when the run succeeds
