"""`PipelineOptions`: how a translation pipeline sizes, jitters, shuffles and batches images.

Every translation loader (`from_paired_folder`, `from_unpaired_folder`, `from_tfds_cycle_gan`,
`from_style_folders`) takes the same options, either as one `options=PipelineOptions(...)` or as
keyword arguments of the same names (`crop_size=128`), which override the fields of `options`.
They are documented and validated here, once.
"""

from __future__ import annotations

import dataclasses

from keras_styletransfer.data.jitter import _check_choice, _check_sizes
from keras_styletransfer.data.pipeline import check_batch_size
from keras_styletransfer.errors import InputError

RESIZE_MODES = ("stretch", "short_side")


@dataclasses.dataclass(frozen=True)
class PipelineOptions:
    """The shared options of the translation pipelines, validated when made.

    Args:
        load_size: int. Side the images are resized to before the random crop. Defaults to 286.
        crop_size: int. Side of the output images. Defaults to 256.
        batch_size: int. Defaults to 1 (as pix2pix and CycleGAN).
        augment: bool. Random crop and flip; without it images are resized straight to
            `crop_size`. Defaults to None: True, except for the non-training splits of the
            unpaired loaders (`split="test"`).
        shuffle: bool. Reshuffle every epoch. Defaults to None: True, except for the
            non-training splits of the unpaired loaders.
        seed: int. Makes shuffles, pairings and jitter deterministic (and still different in
            every epoch). Defaults to None.
        repeat: bool. Repeat forever (then pass `steps_per_epoch` to fit). Defaults to False.
        drop_remainder: bool. Drop a last partial batch. Defaults to True.
        resize: str. "stretch" (to `load_size x load_size` whatever the aspect) or
            "short_side" (keep the aspect). Defaults to "stretch".
        allow_upscale: bool. Resize up images smaller than `crop_size` (with a warning), else
            an error. Folder loaders only (TFDS images are not measured before decoding).
            Defaults to True.
        shuffle_buffer: int. Items held for shuffling, per domain, by the unpaired loaders.
            Defaults to None (the whole split).

    Example:
        >>> options = PipelineOptions(crop_size=128, load_size=143, seed=0)
        >>> pairs = from_unpaired_folder("horse2zebra", options=options, batch_size=4)
    """

    load_size: int = 286
    crop_size: int = 256
    batch_size: int = 1
    augment: bool | None = None
    shuffle: bool | None = None
    seed: int | None = None
    repeat: bool = False
    drop_remainder: bool = True
    resize: str = "stretch"
    allow_upscale: bool = True
    shuffle_buffer: int | None = None

    def __post_init__(self):
        load_size, crop_size = _check_sizes(self.load_size, self.crop_size)
        object.__setattr__(self, "load_size", load_size)
        object.__setattr__(self, "crop_size", crop_size)
        object.__setattr__(self, "batch_size", check_batch_size(self.batch_size))
        _check_choice(self.resize, "resize", RESIZE_MODES)

    @classmethod
    def from_arguments(cls, options=None, **overrides):
        """`options` (or the defaults) with the fields named in `overrides` replaced.

        Args:
            options: PipelineOptions. Defaults to None (the defaults).
            **overrides: fields of `PipelineOptions`; an unknown name is a `TypeError`, as for
                any function.

        Returns:
            A validated `PipelineOptions`.
        """
        if options is None:
            return cls(**overrides)
        if not isinstance(options, PipelineOptions):
            raise InputError(
                f"options must be a PipelineOptions; received {type(options).__name__}. Pass "
                "the fields as keyword arguments instead (crop_size=128, seed=0, ...)."
            )
        return dataclasses.replace(options, **overrides)

    def for_training(self, training=True):
        """These options with `augment` and `shuffle` left at None resolved: True for the
        training data, False for the other splits."""
        return dataclasses.replace(
            self,
            augment=training if self.augment is None else bool(self.augment),
            shuffle=training if self.shuffle is None else bool(self.shuffle),
        )
