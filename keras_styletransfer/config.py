"""Frozen descriptions of a run. No TensorFlow import here: the CLI builds, prints and saves one,
then hands it to `training.train`."""

from __future__ import annotations

import dataclasses
import json
import os


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Everything that defines one training run.

    Args:
        preset: str. Name from `keras_styletransfer.models.presets.PRESETS`.
        epochs: int. Defaults to 5.
        batch_size: int. Defaults to 0, meaning the preset's.
        steps_per_epoch: int. Defaults to 0, meaning the preset's (0 there: one pass).
        data: str. "offline" (the preset's embedded data), a folder, a .npy / .npz file, or
            "tfds:NAME". Defaults to "offline".
        tfds_data_dir: str. Where prepared TFDS data lives. Defaults to "" (TFDS's default).
        seed: int. Seeds weights, noise and shuffling. Defaults to 0.
        samples_every: int. Write a sample grid every this many epochs. Defaults to 1.
        convert_channels: bool. Convert folder images to the model's channel count.
            Defaults to False.
        measure_quality: bool. After training, score samples with the digit classifier
            (digit presets only). Defaults to False.
    """

    preset: str
    epochs: int = 5
    batch_size: int = 0
    steps_per_epoch: int = 0
    data: str = "offline"
    tfds_data_dir: str = ""
    seed: int = 0
    samples_every: int = 1
    convert_channels: bool = False
    measure_quality: bool = False

    def to_json(self):
        return json.dumps(dataclasses.asdict(self), indent=2, sort_keys=True)

    def save(self, run_dir):
        """Write `run_dir/config.json` and return its path."""
        os.makedirs(run_dir, exist_ok=True)
        path = os.path.join(run_dir, "config.json")
        with open(path, "w") as file:
            file.write(self.to_json() + "\n")
        return path

    @classmethod
    def load(cls, path):
        with open(path) as file:
            return cls(**json.load(file))
