"""Explaining style-transfer GANs: targets, attributions, renderings, reports, audits.

The public names below load on first use, so importing this package does not import TensorFlow.
Submodules: `targets` (what is explained), `attribution` (how), `render` (pictures), `report`,
`audit` (shortcut detection), `synthetic` (known-truth benchmark), `callbacks` (during `fit`).
"""

import importlib

_EXPORTS = {
    "TARGETS": "keras_styletransfer.explain.targets",
    "Target": "keras_styletransfer.explain.targets",
    "build_target": "keras_styletransfer.explain.targets",
    "find_layer": "keras_styletransfer.explain.targets",
    "LayerCapture": "keras_styletransfer.explain.targets",
    "METHODS": "keras_styletransfer.explain.attribution",
    "explain": "keras_styletransfer.explain.attribution",
    "explain_edit": "keras_styletransfer.explain.attribution",
    "saliency": "keras_styletransfer.explain.attribution",
    "gradient_x_input": "keras_styletransfer.explain.attribution",
    "smoothgrad": "keras_styletransfer.explain.attribution",
    "integrated_gradients": "keras_styletransfer.explain.attribution",
    "grad_cam": "keras_styletransfer.explain.attribution",
    "patch_map": "keras_styletransfer.explain.attribution",
    "spatial_layers": "keras_styletransfer.explain.attribution",
    "normalize_map": "keras_styletransfer.explain.render",
    "overlay": "keras_styletransfer.explain.render",
    "save_grid": "keras_styletransfer.explain.render",
    "explanation_report": "keras_styletransfer.explain.report",
    "audit_shortcut": "keras_styletransfer.explain.audit",
    "GradCAMCallback": "keras_styletransfer.explain.callbacks",
    "SmoothGradCallback": "keras_styletransfer.explain.callbacks",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'keras_styletransfer.explain' has no attribute {name!r}")
