"""Entry point of the `keras-styletransfer` command.

It lives outside the package so that it can ask the package to load lazily before it is
imported: `--help`, `presets` and argument errors then answer without importing TensorFlow.

It also chooses, before TensorFlow starts, a setting that holds for the whole process: for
`stylize`, which loads a model, runs it and exits without changing a weight, TensorFlow's
oneDNN convolutions may keep each weight tensor in their own blocked layout instead of
reading the stored one at every call (`TF_ONEDNN_ASSUME_FROZEN_WEIGHTS`; a ResNet-9 at batch 1
in 0.69x the time on a 2-core Xeon, `benchmarks/README.md`, "Convolution weights in oneDNN's
layout"). TensorFlow reads that variable once, at the first convolution of the process, and
from then on never notices a changed weight, so it is set only here, only for that command,
only when TensorFlow is not loaded yet, and never for a command that trains. Set it to 0 to
turn it off.
"""

import os
import sys

# Commands that only run a loaded model: no weight changes in their process.
FROZEN_WEIGHT_COMMANDS = ("stylize",)


def main(argv=None):
    os.environ.setdefault("KERAS_STYLETRANSFER_LAZY", "1")
    words = sys.argv[1:] if argv is None else list(argv)
    if words[:1] and words[0] in FROZEN_WEIGHT_COMMANDS and "tensorflow" not in sys.modules:
        os.environ.setdefault("TF_ONEDNN_ASSUME_FROZEN_WEIGHTS", "1")
    from keras_styletransfer.cli.main import main as run

    return run(argv)


if __name__ == "__main__":
    raise SystemExit(main())
