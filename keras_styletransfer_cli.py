"""Entry point of the `keras-styletransfer` command.

It lives outside the package so that it can ask the package to load lazily before it is
imported: `--help`, `presets` and argument errors then answer without importing TensorFlow.
"""

import os


def main(argv=None):
    os.environ.setdefault("KERAS_STYLETRANSFER_LAZY", "1")
    from keras_styletransfer.cli.main import main as run

    return run(argv)


if __name__ == "__main__":
    raise SystemExit(main())
