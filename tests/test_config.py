"""Run configs: pure data (no package import), one save / load for every kind, old files load."""

import ast
import dataclasses
import json
import os

import pytest

import keras_styletransfer.config as config_module
from keras_styletransfer.config import RunConfig, TrainConfig, TranslationConfig


def test_config_imports_nothing_of_the_package():
    with open(config_module.__file__) as file:
        tree = ast.parse(file.read())
    imported = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            imported.append("." * node.level + (node.module or ""))
    assert imported, "the ast walk found no import at all"
    offending = [name for name in imported if name.startswith(("keras_styletransfer", "."))]
    assert not offending, offending
    assert not any(name.split(".")[0] in ("tensorflow", "keras") for name in imported)


def test_every_config_shares_the_run_fields():
    shared = {field.name for field in dataclasses.fields(RunConfig)}
    assert {"epochs", "steps_per_epoch", "batch_size", "seed", "strategy", "mixed_precision"} <= (
        shared
    )
    for kind in (TrainConfig, TranslationConfig):
        assert issubclass(kind, RunConfig)
        assert shared <= {field.name for field in dataclasses.fields(kind)}
    # Positional first arguments keep working, and each kind keeps its own defaults.
    assert TrainConfig("mnist_dcgan").epochs == 5
    assert TranslationConfig("cyclegan").epochs == 10
    assert TranslationConfig().batch_size == 4 and TrainConfig("mlp_gan").batch_size == 0


@pytest.mark.parametrize(
    "config",
    [
        TrainConfig("mnist_dcgan", epochs=2, seed=3, strategy="mirrored"),
        TranslationConfig(family="multistyle", styles=("pencil", "cartoon"), image_size=32),
    ],
)
def test_save_and_load_round_trip(config, tmp_path):
    path = config.save(str(tmp_path / "run"))
    assert path == os.path.join(str(tmp_path / "run"), "config.json")
    assert type(config).load(path) == config
    assert json.loads(config.to_json()) == json.loads(json.dumps(dataclasses.asdict(config)))


# config.json files written before the RunConfig base existed (same keys, sorted).
OLD_TRAIN = {
    "batch_size": 0,
    "convert_channels": False,
    "data": "offline",
    "epochs": 5,
    "measure_quality": True,
    "mixed_precision": "none",
    "preset": "doc002_mnist",
    "samples_every": 1,
    "seed": 0,
    "steps_per_epoch": 0,
    "strategy": "auto",
    "tfds_data_dir": "",
}
OLD_TRANSLATION = {
    "batch_size": 4,
    "data": "offline",
    "epochs": 10,
    "family": "multistyle",
    "filters": 32,
    "image_size": 64,
    "learning_rate": 0.0002,
    "mixed_precision": "none",
    "seed": 0,
    "steps_per_epoch": 100,
    "strategy": "auto",
    "styles": ["pencil", "cartoon"],
    "tfds_data_dir": "",
}


@pytest.mark.parametrize(
    ("kind", "values"), [(TrainConfig, OLD_TRAIN), (TranslationConfig, OLD_TRANSLATION)]
)
def test_config_files_from_before_still_load(kind, values, tmp_path):
    path = tmp_path / "config.json"
    path.write_text(json.dumps(values, indent=2, sort_keys=True) + "\n")
    loaded = kind.load(str(path))
    expected = {k: tuple(v) if isinstance(v, list) else v for k, v in values.items()}
    # Fields added since take their defaults (`deterministic`: off, as those runs were), or
    # the value those runs used (`offline_split`: the "photos" split, the only one then).
    added = {"deterministic": False}
    if kind is TranslationConfig:
        added["offline_split"] = "photos"
        added["generator_average"] = 0.0  # off: those runs kept the last step's weights
        added["preset"] = ""  # the family's default, the only model then
    assert dataclasses.asdict(loaded) == {**expected, **added}
    assert json.loads(loaded.to_json()) == {**values, **added}


def test_offline_split_resolves_by_family_and_is_checked():
    from keras_styletransfer.errors import InputError
    from keras_styletransfer.training.checks import validate_translation_config

    resolved = {
        family: TranslationConfig(
            family, styles=("oil", "pencil")[: 1 + family.startswith("multi")]
        ).resolved_offline_split()
        for family in config_module.TRANSLATION_FAMILIES
    }
    assert resolved == {
        "pix2pix": "photos",
        "multistyle_paired": "photos",
        "cyclegan": "halves",
        "cut": "halves",
        "fastcut": "halves",
        "multistyle": "halves",
    }
    # An explicit choice wins over the family's; a new config keeps "auto" when saved.
    assert (
        TranslationConfig("cyclegan", offline_split="photos").resolved_offline_split() == "photos"
    )
    assert TranslationConfig("pix2pix", offline_split="halves").resolved_offline_split() == "halves"
    assert TranslationConfig.from_dict(TranslationConfig("cut").to_dict()).offline_split == "auto"
    with pytest.raises(InputError, match="offline split must be one of auto, photos, halves"):
        validate_translation_config(TranslationConfig("cut", offline_split="random"))


@pytest.mark.parametrize("average", [-0.1, 1.0, 1.5, True, "0.999"])
def test_a_generator_average_outside_0_1_is_refused_with_an_example(average):
    from keras_styletransfer.errors import InputError
    from keras_styletransfer.training.checks import validate_translation_config

    validate_translation_config(TranslationConfig("cut", styles=("oil",), generator_average=0.999))
    with pytest.raises(InputError, match=r"generator average must be a momentum in \[0, 1\)"):
        validate_translation_config(
            TranslationConfig("cut", styles=("oil",), generator_average=average)
        )
