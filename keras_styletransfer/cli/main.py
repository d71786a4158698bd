"""The `keras-styletransfer` command: builds the parser from the command modules and dispatches.

    keras-styletransfer presets
    keras-styletransfer train --preset mnist_dcgan --epochs 5 [--run-dir DIR] [--data SOURCE]
    keras-styletransfer sample --model DIR/final.keras --out grid.png [--num 64]
    keras-styletransfer train-style --family pix2pix --styles watercolour
    keras-styletransfer stylize --model M.keras [--style S | --blend a=.3,b=.7] [--strength .7]
        INPUT... --out DIR
    keras-styletransfer demo [--run-dir saved_models/demo] [--digits]
    keras-styletransfer explain | export | fuse | fine-tune ...   (see each `--help`)

Each command is a module of this package with `add_command(subparsers)` (its sub-parser, whose
`handler` default is the module's `run(args) -> exit status`). Parsing imports no TensorFlow; a
command checks its arguments, then calls `common.load_tensorflow`. Bad input is reported as one
line on stderr (exit status 2), never a traceback; `--debug` shows it, and TensorFlow's logs.
Every command also takes `-q/--quiet` (errors only) and `-v/--verbose` (`common.progress` draws
the progress bars; `common.verbosity()` tells a command which was asked for).

Exit status: 0 done; 2 bad input (arguments, files, data, a disk that is full or read-only,
stdout closed); 3 a training loss became NaN / infinite; 130 interrupted (Ctrl-C; run the same
command again to resume); 1 an unexpected error (a bug: the traceback is shown).
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import importlib
import os
import sys

from keras_styletransfer.cli.common import (
    PROG,
    QUIET,
    add_output_arguments,
    quiet_logs,
    set_verbosity,
)
from keras_styletransfer.errors import InputError
from keras_styletransfer.files import DISK_ERRNOS, disk_reason

# In the order `--help` lists them.
COMMAND_MODULES = (
    "presets",
    "train",
    "sample",
    "train_style",
    "train_restore",
    "evaluate",
    "stylize",
    "panorama",
    "restore",
    "demo",
    "explain",
    "export",
    "fuse",
    "fine_tune",
)


def build_parser():
    """The argument parser of every command."""
    parser = argparse.ArgumentParser(
        prog=PROG, description="Train, explain and serve image style-transfer GANs with Keras 3."
    )
    parser.add_argument(
        "--debug", action="store_true", help="show tracebacks on errors and TensorFlow's logs"
    )
    add_output_arguments(parser, top_level=True)
    commands = parser.add_subparsers(dest="command", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(f"keras_styletransfer.cli.{name}").add_command(commands)
    seen = set()
    for sub in commands.choices.values():  # every command, also those added later
        if id(sub) in seen:
            continue
        seen.add(id(sub))
        # Epilogs hold example command lines: keep their line breaks.
        sub.formatter_class = argparse.RawDescriptionHelpFormatter
        add_output_arguments(sub)
    return parser


@contextlib.contextmanager
def _stdout_silenced(silenced):
    """With --quiet, what the command prints on stdout goes nowhere (errors still reach
    stderr, and the exit status tells)."""
    if not silenced:
        yield
        return
    with open(os.devnull, "w") as null, contextlib.redirect_stdout(null):
        yield


def _stdout_broken():
    """Whether stdout cannot take what the command printed (its buffer does not flush)."""
    try:
        sys.stdout.flush()
    except OSError:
        return True
    return False


def _stdout_failed(error):
    """Report that the command's own output could not be written (`> /dev/full`, a closed pipe)
    in one line, and keep the interpreter's final flush of stdout from failing again."""
    reason = "the reader closed it" if isinstance(error, BrokenPipeError) else disk_reason(error)
    with contextlib.suppress(OSError):
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, sys.stdout.fileno())
    print(f"{PROG}: error: could not write the output ({reason}).", file=sys.stderr)
    return 2


def main(argv=None):
    """Run the command line `argv` (default: `sys.argv[1:]`); returns the exit status."""
    args = build_parser().parse_args(argv)
    set_verbosity(args.verbosity)
    if not args.debug:
        quiet_logs()
    try:
        with _stdout_silenced(args.verbosity == QUIET):
            status = args.handler(args)
        try:
            sys.stdout.flush()  # a full or closed stdout fails here, not at exit
        except OSError as error:
            return _stdout_failed(error)
        return status
    except InputError as error:
        if args.debug:
            raise
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return 2
    except OSError as error:
        if args.debug:
            raise
        if error.errno == errno.EPIPE or (error.errno in DISK_ERRNOS and _stdout_broken()):
            return _stdout_failed(error)
        if error.errno not in DISK_ERRNOS:
            raise
        # A write failed (full disk, read-only, forbidden): the writers left the earlier files
        # whole; one line, not a traceback.
        message = error.strerror or str(error)
        if message == os.strerror(error.errno):  # the OS's own words: say it in ours
            message = disk_reason(error)
            if error.filename is None:
                message = (
                    f"a write failed ({message}); free some space or write elsewhere (files "
                    "already written are intact)."
                )
        if error.filename is not None:
            message = f"could not write {error.filename!r} ({message})."
        print(f"{PROG}: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted; run the same command again to resume.", file=sys.stderr)
        return 130
    except Exception as error:
        # Only a run raises it, so its module is loaded by then (and never loaded just for this).
        callbacks = sys.modules.get("keras_styletransfer.training.callbacks")
        if callbacks and isinstance(error, callbacks.NonFiniteLossError) and not args.debug:
            print(f"{PROG}: error: {error}", file=sys.stderr)
            return 3
        raise


if __name__ == "__main__":
    sys.exit(main())
