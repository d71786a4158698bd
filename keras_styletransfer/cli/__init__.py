"""The `keras-styletransfer` command: one module per sub-command, shared argument types."""

from keras_styletransfer.cli.main import main

__all__ = ["main"]
