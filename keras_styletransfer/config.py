"""Frozen descriptions of a run: pure data, no import of the package or of TensorFlow.

`RunConfig` holds what every kind of run shares (epochs, steps, batch, seed, data, strategy,
precision); `TrainConfig` (a noise GAN from a preset) and `TranslationConfig` (an image-to-image
model) add their own fields. The CLI builds one, checks it (`keras_styletransfer.training.checks`),
prints it, saves it as `run_dir/config.json` and hands it to the run.
"""

from __future__ import annotations

import dataclasses
import json
import os

# Families of image-to-image runs (each has a default translation preset of that name).
TRANSLATION_FAMILIES = ("pix2pix", "cyclegan", "multistyle", "multistyle_paired", "cut", "fastcut")
# Families trained on two independent streams (photos, paintings) of one style.
UNPAIRED_FAMILIES = ("cyclegan", "cut", "fastcut")
# Families trained on exact (photo, stylisation) pairs.
PAIRED_FAMILIES = ("pix2pix", "multistyle_paired")
# `TranslationConfig.offline_split` values ("auto" resolves by family).
OFFLINE_SPLITS = ("auto", "photos", "halves")

# Fields that may change when an interrupted run is started again; any other change would load
# the backup into a different model or data stream. The strategy may change: the global batch,
# and so every update, stays the same on any number of replicas.
# `deterministic` may change too: it makes TensorFlow's kernels reproducible, not other numbers.
RESUMABLE_CHANGES = ("epochs", "samples_every", "measure_quality", "strategy", "deterministic")


@dataclasses.dataclass(frozen=True, kw_only=True)
class RunConfig:
    """What every run shares.

    Args:
        epochs: int. Defaults to 5.
        steps_per_epoch: int. Training steps per epoch (0: the recipe's default).
            Defaults to 0.
        batch_size: int. The global batch over all replicas (0: the recipe's default).
            Defaults to 0.
        seed: int. Seeds weights, noise and shuffling. Defaults to 0.
        data: str. Where the training data comes from ("offline" for the embedded data, a
            folder, a file or "tfds:NAME"; see each config). Defaults to "offline".
        tfds_data_dir: str. Where prepared TFDS data lives ("" = TFDS's default).
        strategy: str. Distribution strategy: "auto", "default", "mirrored" or "multi_worker"
            (see `keras_styletransfer.distribute.get_strategy`). Defaults to "auto".
        mixed_precision: str. "none", "mixed_float16" or "mixed_bfloat16". Defaults to "none".
        deterministic: bool. Run TensorFlow's ops deterministically
            (`tf.config.experimental.enable_op_determinism`, for the whole process and for
            good), so that two runs with the same seed give bit-identical weights, at some cost
            in speed. Defaults to False.
    """

    epochs: int = 5
    steps_per_epoch: int = 0
    batch_size: int = 0
    seed: int = 0
    data: str = "offline"
    tfds_data_dir: str = ""
    strategy: str = "auto"
    mixed_precision: str = "none"
    deterministic: bool = False

    def to_dict(self):
        return dataclasses.asdict(self)

    def to_json(self):
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    def save(self, run_dir):
        """Write `run_dir/config.json` and return its path."""
        os.makedirs(run_dir, exist_ok=True)
        path = os.path.join(run_dir, "config.json")
        with open(path, "w") as file:
            file.write(self.to_json() + "\n")
        return path

    @classmethod
    def from_dict(cls, values):
        """A config from a dict such as `to_dict` gives (lists become tuples where a field
        holds a tuple)."""
        values = dict(values)
        for field in dataclasses.fields(cls):
            if isinstance(values.get(field.name), list) and isinstance(field.default, tuple):
                values[field.name] = tuple(values[field.name])
        return cls(**values)

    @classmethod
    def load(cls, path):
        """The config saved at `path` (a `config.json`)."""
        with open(path) as file:
            return cls.from_dict(json.load(file))


@dataclasses.dataclass(frozen=True, kw_only=True)
class TrainConfig(RunConfig):
    """A noise GAN trained from a preset.

    Args:
        preset: str. Name from `keras_styletransfer.models.presets.PRESETS`.
        epochs: int. Defaults to 5.
        batch_size: int. Defaults to 0, meaning the preset's.
        steps_per_epoch: int. Defaults to 0, meaning the preset's (0 there: one pass).
        data: str. "offline" (the preset's embedded data), a folder, a .npy / .npz file, or
            "tfds:NAME". Defaults to "offline".
        samples_every: int. Write a sample grid every this many epochs. Defaults to 1.
        convert_channels: bool. Convert folder images to the model's channel count.
            Defaults to False.
        measure_quality: bool. After training, score samples with the digit classifier
            (digit presets only). Defaults to False.
        Other fields: see `RunConfig`.
    """

    preset: str = dataclasses.field(kw_only=False)
    samples_every: int = 1
    convert_channels: bool = False
    measure_quality: bool = False


@dataclasses.dataclass(frozen=True, kw_only=True)
class TranslationConfig(RunConfig):
    """An image-to-image run (pix2pix, CycleGAN or multi-style) on the offline photo set or the
    user's data.

    Args:
        family: str. "pix2pix" (paired), "cyclegan" (unpaired), "multistyle" (unpaired, one
            generator for every style), "multistyle_paired" (paired, one generator for every
            style), "cut" or "fastcut" (unpaired, contrastive: one generator, no cycle; the
            CycleGAN data layout). Defaults to "pix2pix".
        styles: tuple of str. One style for pix2pix and CycleGAN; one or more for multistyle
            and multistyle_paired.
            Defaults to ("pencil",).
        image_size: int. Training crop side. Defaults to 64.
        epochs: int. Defaults to 10.
        steps_per_epoch: int. Defaults to 100.
        batch_size: int. Defaults to 4.
        filters: int. Width of the first layer of G and D. Defaults to 32.
        learning_rate: float. Adam's, with beta_1 = 0.5. Defaults to 2e-4.
        data: str. "offline" (the embedded photos with exact stylisations, evaluated on
            held-out photos), a folder in the family's layout (pix2pix: side-by-side A|B files
            or `A/` + `B/` sub-folders; CycleGAN: `trainA/ trainB/ [testA/ testB/]`;
            multistyle: one sub-folder per style plus `photo/` for the content photos), or
            "tfds:cycle_gan/<config>" (CycleGAN, prepared locally). With a folder, `styles`
            names the style (pix2pix, CycleGAN) or must match the style sub-folders
            (multistyle). "restoration": the offline photos degraded per restoration task
            (multistyle_paired only; `styles` are then tasks of `data.restoration.TASKS`).
            Defaults to "offline".
        offline_split: str. With the offline data, how the six training photos are shared
            between the unpaired sides (`OFFLINE_SPLITS`; `data.offline_photos`): "halves"
            (every photo cut in two, one half's crops a side: both sides show the same
            subjects, so only the style tells them apart), "photos" (three photos a side:
            the subjects differ, and a discriminator learns them instead of the style), or
            "auto": "halves" for the unpaired families (CycleGAN, CUT, FastCUT, multistyle),
            "photos" for the paired ones. A config saved before this field existed loads as
            "photos", the split it trained on. Defaults to "auto".
        generator_average: float. Momentum of a moving average of the generators' weights
            (the generator optimizer's `use_ema`), which the trained model keeps instead of
            the last step's weights; e.g. 0.999. 0 turns it off. Defaults to 0.
        preset: str. A translation preset of the family (`models.presets`, e.g.
            "cut_operators", "cyclegan_resnet6"); "" for the family's default. Defaults to "".
        Other fields: see `RunConfig`.
    """

    family: str = dataclasses.field(default="pix2pix", kw_only=False)
    styles: tuple = ("pencil",)
    image_size: int = 64
    epochs: int = 10
    steps_per_epoch: int = 100
    batch_size: int = 4
    filters: int = 32
    learning_rate: float = 2e-4
    offline_split: str = "auto"
    generator_average: float = 0.0
    preset: str = ""

    @classmethod
    def from_dict(cls, values):
        values = dict(values)
        values.setdefault("offline_split", "photos")  # saved before the field: what it used
        return super().from_dict(values)

    def resolved_offline_split(self):
        """The offline split this run uses: `offline_split`, with "auto" resolved."""
        if self.offline_split != "auto":
            return self.offline_split
        return "photos" if self.family in PAIRED_FAMILIES else "halves"
