"""What the commands share: argument types, common options, video inputs (`split_videos`,
`render_video`), help examples (`examples`), how much a command says (`--quiet` / `--verbose`:
`verbosity`, `detail`, `keras_verbose`), the one progress bar (`progress`, `ProgressBar`), and
loading TensorFlow quietly.

Nothing here imports TensorFlow at import time: the command line is parsed and checked first, and
a command calls `load_tensorflow()` only once its arguments are valid.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys

from keras_styletransfer.errors import InputError
from keras_styletransfer.training.checks import MAX_EPOCHS, MAX_STEPS_PER_EPOCH
from keras_styletransfer.validation import parse_name_weights

PROG = "keras-styletransfer"


# --- argument types (argparse reports their errors as one line, exit status 2) -----------------


def _int_at_least(low, description, high=None):
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {description}, got {text!r}") from None
        if value < low or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"must be {description}, got {value}")
        return value

    parse.__name__ = description
    return parse


# argparse types: an integer >= 1, an integer >= 0.
positive_int = _int_at_least(1, "a positive integer")
non_negative_int = _int_at_least(0, "an integer >= 0")


def learning_rate(text):
    """argparse type: a finite float in (0, 1]."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number such as 2e-4, got {text!r}") from None
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"must be in (0, 1], got {text}")
    return value


# Seeds: what NumPy, TensorFlow and Keras all take.
MAX_SEED = 2**31 - 1
seed_int = _int_at_least(0, f"an integer from 0 to {MAX_SEED}", high=MAX_SEED)
# Sane ranges for the length of a run (a typo such as 1e20 is refused before any work).
epochs_int = _int_at_least(1, f"an integer from 1 to {MAX_EPOCHS:,}", high=MAX_EPOCHS)
steps_int = _int_at_least(
    1, f"an integer from 1 to {MAX_STEPS_PER_EPOCH:,}", high=MAX_STEPS_PER_EPOCH
)


def run_fields(args):
    """The `RunConfig` fields every training command takes, from its arguments (the options
    `add_run_arguments` adds)."""
    return dict(
        epochs=args.epochs,
        steps_per_epoch=args.steps_per_epoch or 0,
        batch_size=args.batch_size or 0,
        seed=args.seed,
        data=args.data,
        tfds_data_dir=args.tfds_data_dir,
        strategy=args.strategy,
        mixed_precision=args.mixed_precision,
        deterministic=args.deterministic,
    )


def name_weights(option):
    """An argparse type for `option`: 'a=0.3,b=0.7' -> {'a': 0.3, 'b': 0.7}.

    Only the syntax is checked here; `validation.style_weights` applies the weight rules when
    the model's style names are known.
    """

    def parse(text):
        try:
            return parse_name_weights(text, option)
        except InputError as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    parse.__name__ = "name=weight pairs"
    return parse


def comma_separated(option):
    """An argparse type for `option`: 'a,b,c' -> ['a', 'b', 'c'], no empty names."""

    def parse(text):
        names = [name.strip() for name in text.split(",")]
        if not all(names):
            raise argparse.ArgumentTypeError(
                f"{option} takes names separated by commas; received {text!r}"
            )
        return names

    parse.__name__ = "comma-separated names"
    return parse


# --- options several commands take ---------------------------------------------------------------


def add_distribution_arguments(parser):
    """`--strategy` and `--mixed-precision`, for the training commands."""
    from keras_styletransfer.distribute import PRECISION_POLICIES, STRATEGY_NAMES

    parser.add_argument(
        "--strategy",
        choices=STRATEGY_NAMES,
        default="auto",
        help="auto: all GPUs when there are several, else one device; mirrored: every GPU (or "
        "logical CPU) of this machine; multi_worker: the machines in TF_CONFIG. --batch-size is "
        "the global batch over all replicas",
    )
    parser.add_argument(
        "--mixed-precision",
        choices=PRECISION_POLICIES,
        default="none",
        help="mixed_float16 (GPUs; loss scaling is added) or mixed_bfloat16",
    )


def add_deterministic_argument(parser):
    """`--deterministic`, for the training commands."""
    parser.add_argument(
        "--deterministic",
        action="store_true",
        help="TensorFlow op determinism: two runs with the same seed give bit-identical "
        "weights (slower; applies to the whole process)",
    )


def add_run_arguments(
    parser, *, epochs, steps_per_epoch, batch_size, data_help, run_dir_help, overwrite_help=None
):
    """The options of every training command, read back by `run_fields`: `--epochs`,
    `--steps-per-epoch`, `--batch-size`, `--data` (default "offline"), `--tfds-data-dir`,
    `--seed` (default 0), the distribution options, `--deterministic`, `--run-dir` and
    `--overwrite`.

    Args:
        parser: argparse.ArgumentParser. The command's parser.
        epochs, steps_per_epoch, batch_size: int. The command's defaults (None: the preset's).
        data_help, run_dir_help: str. What `--data` accepts and where `--run-dir` defaults to.
        overwrite_help: str. What `--overwrite` replaces. Defaults to None (what a finished
            run left in the folder).
    """
    parser.add_argument("--epochs", type=epochs_int, default=epochs)
    parser.add_argument("--steps-per-epoch", type=steps_int, default=steps_per_epoch)
    parser.add_argument("--batch-size", type=positive_int, default=batch_size)
    parser.add_argument("--data", default="offline", help=data_help)
    parser.add_argument("--tfds-data-dir", default="", help="where prepared TFDS data lives")
    parser.add_argument("--seed", type=seed_int, default=0)
    add_distribution_arguments(parser)
    add_deterministic_argument(parser)
    parser.add_argument("--run-dir", default=None, help=run_dir_help)
    add_overwrite_argument(parser, help=overwrite_help or _OVERWRITE_HELP)


_OVERWRITE_HELP = "replace what a finished run left in the folder"


def add_overwrite_argument(parser, help=_OVERWRITE_HELP):
    parser.add_argument("--overwrite", action="store_true", help=help)


def add_direction_argument(parser):
    parser.add_argument(
        "--direction",
        choices=("AB", "BA"),
        default=None,
        help="CycleGAN: A->B (the default) or B->A",
    )


def add_strength_argument(parser):
    parser.add_argument(
        "--strength",
        type=float,
        default=1.0,
        help="0 (the photo back) to 1 (the model's full style); default 1",
    )


def add_tile_argument(parser, what="larger images are"):
    """`--max-tile-pixels`: the tile size of `serving.inference.Stylizer` (default 512 x 512)."""
    parser.add_argument(
        "--max-tile-pixels",
        type=positive_int,
        default=512 * 512,
        help=f"{what} processed in blended tiles of about this many pixels",
    )


def output_names(paths, used=None, suffix=".png"):
    """One distinct output name per input path: `<stem><suffix>`, then `<stem>_2<suffix>`, ...
    for repeated stems (inputs from other folders, or an image and a video of one stem).
    `used`: a set of names already taken, updated in place."""
    names, used = [], set() if used is None else used
    for path in paths:
        stem = os.path.splitext(os.path.basename(path))[0]
        name, counter = f"{stem}{suffix}", 1
        while name in used:
            counter += 1
            name = f"{stem}_{counter}{suffix}"
        used.add(name)
        names.append(name)
    return names


# --- video inputs: `stylize` and `restore` ------------------------------------------------------


def add_video_arguments(parser, verb):
    """`--temporal flow|none`, `--temporal-weight` and `--max-frames`, read by `render_video`;
    `verb` is what the command does to a frame ("stylise", "restore")."""
    parser.add_argument(
        "--temporal",
        choices=("flow", "none"),
        default="flow",
        help="videos: flow (default) blends each frame with the previous output warped by "
        f"optical flow, which removes flicker; none {verb}s each frame alone",
    )
    parser.add_argument(
        "--temporal-weight",
        type=float,
        default=None,
        help="videos, --temporal flow: weight of the previous output, in [0, 1) (default 0.6; "
        "higher is steadier but follows fast changes more slowly)",
    )
    parser.add_argument(
        "--max-frames",
        type=positive_int,
        default=None,
        help=f"videos: {verb} only the first N frames (a quick preview)",
    )


def check_video_arguments(args):
    """Refuse a `--temporal-weight` outside [0, 1) before TensorFlow loads."""
    if args.temporal_weight is not None:
        from keras_styletransfer.serving.video import check_temporal

        check_temporal(args.temporal, args.temporal_weight)


def split_videos(inputs):
    """`(video files, other inputs)`: video files (by suffix, `serving.video.is_video_file`)
    named as inputs or found under a folder given (recursively, sorted) go to the video path. A
    folder that holds videos and no image is left out of the other inputs; any other folder
    stays there (so one with neither is still reported as holding no image)."""
    from keras_styletransfer.data.folders import list_image_files
    from keras_styletransfer.errors import DataSourceError
    from keras_styletransfer.serving.video import is_video_file

    videos, others = [], []
    for item in inputs:
        if os.path.isfile(item) and is_video_file(item):
            videos.append(item)
            continue
        found = []
        if os.path.isdir(item):
            for root, folders, names in os.walk(item):
                folders.sort()
                found += [os.path.join(root, n) for n in sorted(names) if is_video_file(n)]
        videos += found
        if found:
            try:
                list_image_files(item)
            except DataSourceError:
                continue  # videos only
        others.append(item)
    return videos, others


def video_output_names(videos, used=None):
    """One distinct output name per video, in its own container: `clip.mp4`, `clip_2.mp4`, ...
    (`output_names`; `used` as there)."""
    used = set() if used is None else used
    return [output_names([path], used, os.path.splitext(path)[1].lower())[0] for path in videos]


def render_video(render, path, destination, args, action, done, prepare=None, on_frame=None):
    """One video through `serving.video.stylize_video` with the command's `--temporal`,
    `--temporal-weight`, `--max-frames` and `--batch-size`, behind a progress bar; prints what
    was written and its flicker.

    Args:
        render: callable. A list of uint8 RGB frames -> a list of float frames in [-1, 1].
        path: str. The video to read.
        destination: str. The video to write (checked by the caller).
        args: argparse.Namespace. The command's arguments (`add_video_arguments`).
        action, done: str. What the command does, for the bar ("restore") and the summary
            ("restored").
        prepare, on_frame: callable or None. See `stylize_video`. Defaults to None.

    Returns:
        dict: `stylize_video`'s summary.
    """
    from keras_styletransfer.serving.video import (
        DEFAULT_TEMPORAL_WEIGHT,
        stylize_video,
        video_info,
    )

    weight = DEFAULT_TEMPORAL_WEIGHT if args.temporal_weight is None else args.temporal_weight
    total = video_info(path).frame_count or None
    if args.max_frames and total:
        total = min(total, args.max_frames)
    with ProgressBar(total, f"{action} {os.path.basename(path)}") as bar:

        def frame_done(*frame):
            bar.update()
            if on_frame:
                on_frame(*frame)

        summary = stylize_video(
            render,
            path,
            destination,
            temporal=args.temporal,
            weight=weight,
            batch_size=args.batch_size,
            max_frames=args.max_frames,
            on_frame=frame_done,
            prepare=prepare,
        )
    smoothing = (
        f"flow smoothing, weight {summary['weight']:g}"
        if summary["temporal"] == "flow"
        else "frame by frame"
    )
    print(
        f"{done} {summary['frames']} frame(s) of {path} into {destination} "
        f"({summary['width']}x{summary['height']}, {summary['fps']:g} fps, {smoothing}); "
        f"flicker {summary['flicker']:+.2f} grey levels (output change "
        f"{summary['output_change']:.2f} vs input change {summary['input_change']:.2f} along "
        "the optical flow)"
    )
    return summary


# --- help: example command lines ------------------------------------------------------------------


def examples(*lines):
    """A sub-parser's `epilog`: "examples:" and one real command line per argument (main.py keeps
    their line breaks: every sub-parser gets `RawDescriptionHelpFormatter`).

    Example:
        commands.add_parser("sample", help=..., epilog=examples("sample --model M --out g.png"))
    """
    return "examples:\n" + "\n".join(f"  {PROG} {line}" for line in lines)


# --- how much the command says: --quiet / --verbose, progress bars ------------------------------

QUIET, NORMAL, VERBOSE = 0, 1, 2
_output = {"verbosity": NORMAL}  # set once by `main` from --quiet / --verbose


def add_output_arguments(parser, top_level=False):
    """`-q/--quiet` and `-v/--verbose` (dest `verbosity`: QUIET, NORMAL or VERBOSE).

    `main` adds them to the top-level parser and to every sub-parser, so both
    `keras-styletransfer --quiet stylize ...` and `keras-styletransfer stylize --quiet ...` work;
    a sub-parser's default is SUPPRESS so it never overrides what was given before the command.
    """
    group = parser.add_mutually_exclusive_group()
    default = NORMAL if top_level else argparse.SUPPRESS
    group.add_argument(
        "-q",
        "--quiet",
        dest="verbosity",
        action="store_const",
        const=QUIET,
        default=default,
        help="print nothing but errors (no results, no progress bars); the exit status says "
        "whether it worked",
    )
    group.add_argument(
        "-v",
        "--verbose",
        dest="verbosity",
        action="store_const",
        const=VERBOSE,
        default=default,
        help="also per-item details, TensorFlow's Python warnings, and progress lines when "
        "stderr is not a terminal",
    )


def set_verbosity(level):
    """Set the command's verbosity (QUIET, NORMAL or VERBOSE); `main` calls it once."""
    _output["verbosity"] = level


def verbosity():
    """The command's verbosity: QUIET (0), NORMAL (1) or VERBOSE (2)."""
    return _output["verbosity"]


def keras_verbose():
    """The `verbose=` to give Keras' `fit` / `predict`: 0 when --quiet, else 1."""
    return 0 if verbosity() == QUIET else 1


def detail(*values):
    """Print a detail line (stdout) only with --verbose."""
    if verbosity() >= VERBOSE:
        print(*values, flush=True)


def _seconds(value):
    if value < 60:
        return f"{value:.1f} s"
    minutes, seconds = divmod(int(value), 60)
    if minutes < 60:
        return f"{minutes}:{seconds:02d} min"
    return f"{minutes // 60}:{minutes % 60:02d} h"


class ProgressBar:
    """A one-line progress bar on stderr: `description [#####.....] 12/40 3.1 s, 2.0 s left`.

    On a terminal the line is redrawn in place (at most ~10 times a second); when stderr is not
    a terminal (a log file, a pipe) one line is written at the end, plus one per 10% with
    --verbose. Nothing at all when not enabled or with --quiet. Use `progress(...)` for an
    iterable; this class for work that reports its own steps (`update(n)`, then `close()`).

    Args:
        total: int or None. How many steps make 100% (None: a counter without a bar).
        description: str. What is being done, e.g. "stylize". Defaults to "".
        enabled: bool. False shows nothing (a caller's own switch). Defaults to True.
        stream: file. Where to draw. Defaults to sys.stderr.
    """

    width = 30

    def __init__(self, total=None, description="", enabled=True, stream=None):
        import time

        self._time = time.monotonic
        self.total, self.description, self.count = total, description, 0
        self.stream = stream or sys.stderr
        self.enabled = bool(enabled) and verbosity() > QUIET
        try:
            self.live = self.stream.isatty()
        except (AttributeError, ValueError):
            self.live = False
        self.started = self._last_draw = self._time()
        self._last_tenth, self.closed = 0, False

    def line(self):
        """The bar as text (without the carriage return)."""
        elapsed = self._time() - self.started
        head = f"{self.description} " if self.description else ""
        if not self.total:
            return f"{head}{self.count} done, {_seconds(elapsed)}"
        fraction = min(self.count / self.total, 1.0)
        filled = round(fraction * self.width)
        text = f"{head}[{'#' * filled}{'.' * (self.width - filled)}] {self.count}/{self.total}"
        text += f" {_seconds(elapsed)}"
        if 0 < self.count < self.total:
            text += f", {_seconds(elapsed / self.count * (self.total - self.count))} left"
        return text

    def _write(self, text, end=""):
        try:
            self.stream.write(text + end)
            self.stream.flush()
        except (OSError, ValueError):  # a closed or full stderr never stops the work
            self.enabled = False

    def update(self, steps=1):
        """Count `steps` more steps done and redraw if it is time."""
        self.count += steps
        if not self.enabled:
            return
        now = self._time()
        if self.live:
            if now - self._last_draw >= 0.1 or (self.total and self.count >= self.total):
                self._last_draw = now
                self._write("\r" + self.line() + "\x1b[K")
        elif verbosity() >= VERBOSE and self.total:
            tenth = int(10 * self.count / self.total)
            if tenth > self._last_tenth and self.count < self.total:
                self._last_tenth = tenth
                self._write(self.line(), end="\n")

    def close(self):
        """Finish the line (a terminal) or write the summary line (a log)."""
        if self.closed:
            return
        self.closed = True
        if not self.enabled:
            return
        if self.live:
            self._write("\r" + self.line() + "\x1b[K", end="\n")
        else:
            self._write(self.line(), end="\n")

    def __enter__(self):
        return self

    def __exit__(self, kind, value, traceback):
        if kind is None:
            self.close()
            return
        # An error ends the work: no bar above its one-line message (a terminal's partly drawn
        # line is wiped).
        if self.enabled and self.live and not self.closed:
            self._write("\r\x1b[K")
        self.closed = True


def progress(iterable, total=None, description="", enabled=True):
    """Yield the items of `iterable` while drawing a one-line progress bar on stderr.

    Silent when `enabled` is False or the command runs with --quiet; see `ProgressBar`.

    Args:
        iterable: any iterable.
        total: int or None. The number of items (default: `len(iterable)` when it has one).
        description: str. What is being done, shown before the bar. Defaults to "".
        enabled: bool. False shows nothing. Defaults to True.

    Example:
        for path in progress(paths, description="stylize"):
            ...
    """
    if total is None:
        try:
            total = len(iterable)
        except TypeError:
            total = None
    with ProgressBar(total, description, enabled) as bar:
        for item in iterable:
            yield item  # an error in the caller's loop body arrives here (GeneratorExit)
            bar.update(1)


# --- TensorFlow, once the arguments are valid ---------------------------------------------------


def quiet_logs():
    """Ask TensorFlow (not yet imported) for no C++ log lines: "failed call to cuInit" on every
    machine without a GPU would bury the command's own messages, and its errors still arrive as
    exceptions. `--debug` skips this and keeps them."""
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"


@contextlib.contextmanager
def _stderr_to_devnull():
    """Send the process's file descriptor 2 to /dev/null: TensorFlow's C++ start-up lines
    (absl's "All log messages before absl::InitializeLog()", oneDNN, CUDA probing) are written
    there at import, whatever TF_CPP_MIN_LOG_LEVEL says."""
    sys.stderr.flush()
    saved = os.dup(2)
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(null)


def load_tensorflow(args=None):
    """Import TensorFlow, once the command's arguments are valid.

    Unless `args.debug`, its start-up lines and Python-side INFO / WARNING logs are hidden; its
    errors still arrive as exceptions.
    """
    if "tensorflow" in sys.modules or getattr(args, "debug", False):
        import tensorflow  # noqa: F401

        return
    quiet_logs()
    with _stderr_to_devnull():
        import tensorflow as tf
    import absl.logging

    level = "WARNING" if verbosity() >= VERBOSE else "ERROR"
    absl.logging.set_verbosity(getattr(absl.logging, level))
    tf.get_logger().setLevel(level)


_held_locks = []  # run folders this process holds until it exits


def hold_run_dir(config, run_dir, overwrite, inputs=()):
    """Lock `run_dir` for this process (a second run on it is refused at once, naming this one)
    and check it for `config` (None: not known yet), before TensorFlow loads."""
    from keras_styletransfer.files import run_lock
    from keras_styletransfer.training.checks import check_run_dir

    if not os.path.isdir(run_dir):  # a file, or a folder that cannot be created: say so first
        check_run_dir(config, run_dir, overwrite, inputs)
    lock = run_lock(run_dir)
    lock.__enter__()  # released when the process ends; the run itself nests inside
    _held_locks.append(lock)
    check_run_dir(config, run_dir, overwrite, inputs)  # now that no other run can change it


def start_run(config, run_dir, overwrite, args=None):
    """Check and lock `run_dir` for `config` (before TensorFlow loads), print it and the config,
    then load TensorFlow: the start of every training command."""
    hold_run_dir(config, run_dir, overwrite)
    print(f"{PROG}: run directory {run_dir}\n{config.to_json()}", flush=True)
    load_tensorflow(args)


def print_resumed(result, run_dir):
    """Say so when a training run resumed from its backup."""
    if result.initial_epoch:
        print(f"resumed from epoch {result.initial_epoch} (backup in {run_dir}/backup)")
