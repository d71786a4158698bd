"""Benchmark-only reproductions of the steps users would otherwise run, written here.

Each module rebuilds a well-known public example's *structure* (its networks, losses, optimizers
and the shape of its training step) so that the suite can time it beside ours in the same
process. They are not the examples' code and are not part of the package.

- `kerasio_cyclegan`: the keras-io CycleGAN example (one persistent tape, four optimizers,
  `GroupNormalization(groups=-1)` as instance norm, ResNet generator, 70x70 PatchGAN).
- `tf_pix2pix`: the TensorFlow pix2pix tutorial (U-Net 256, conditional PatchGAN with zero
  padding, BCE + 100 L1, one `tf.function` step with two tapes).
- `documents_dcgan`: the source documents' DCGAN loop (`predict` + three `train_on_batch`).
- `torch_reference`: the PyTorch reference implementation's CycleGAN and pix2pix steps, when
  `torch` is installed (`pip install -e '.[bench]'`).
"""
