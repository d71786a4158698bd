"""Explaining style-transfer GANs: targets, attributions, renderings, reports, audits.

The public names below load on first use, so importing this package does not import TensorFlow.
Submodules: `targets` (what is explained), `attribution` (how), `render` (every picture and
chart), `report`, `audit` (shortcut detection), `synthetic` (known-truth benchmark),
`callbacks` (attributions and gradient flow during `fit`), `gradients` (the maths of gradient
flow, distributions, heatmaps, warnings), `activations` (feature maps), `robustness`, `control`,
`dissection`. Explanation-guided training terms (`saliency_mask`, `locality_penalty`) live with
the losses, in `keras_styletransfer.losses`.

Explain uses only the public contract of the adversarial wrappers (`AdversarialModel`).
"""

from keras_styletransfer.lazy import lazy_namespace

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
    "GradientFlow": "keras_styletransfer.explain.callbacks",
    "GradientWarning": "keras_styletransfer.explain.gradients",
    "VanishingGradientWarning": "keras_styletransfer.explain.gradients",
    "ExplodingGradientWarning": "keras_styletransfer.explain.gradients",
    "DiscriminatorSaturationWarning": "keras_styletransfer.explain.gradients",
    "gradient_statistics": "keras_styletransfer.explain.gradients",
    "input_gradient_maps": "keras_styletransfer.explain.gradients",
    "layer_gradient_maps": "keras_styletransfer.explain.gradients",
    "make_probe": "keras_styletransfer.explain.gradients",
    "ActivationMaps": "keras_styletransfer.explain.activations",
    "layer_activations": "keras_styletransfer.explain.activations",
    "save_feature_maps": "keras_styletransfer.explain.render",
    "stability_curves": "keras_styletransfer.explain.robustness",
    "attack_generator": "keras_styletransfer.explain.robustness",
    "attack_discriminator": "keras_styletransfer.explain.robustness",
    "explanation_stability": "keras_styletransfer.explain.robustness",
    "plot_robustness": "keras_styletransfer.explain.render",
    "fgsm": "keras_styletransfer.explain.robustness",
    "pgd": "keras_styletransfer.explain.robustness",
    "strength_sweep": "keras_styletransfer.explain.control",
    "blend": "keras_styletransfer.explain.control",
    "set_units": "keras_styletransfer.explain.control",
    "sefa_directions": "keras_styletransfer.explain.control",
    "pca_directions": "keras_styletransfer.explain.control",
    "apply_direction": "keras_styletransfer.explain.control",
    "slider_strip": "keras_styletransfer.explain.control",
    "dissect": "keras_styletransfer.explain.dissection",
    "intervene": "keras_styletransfer.explain.dissection",
    "difference_masks": "keras_styletransfer.explain.dissection",
    "grad_cam_masks": "keras_styletransfer.explain.dissection",
    "saliency_mask": "keras_styletransfer.losses",
    "locality_penalty": "keras_styletransfer.losses",
}

_SUBMODULES = (
    "activations",
    "attribution",
    "audit",
    "callbacks",
    "control",
    "dissection",
    "gradients",
    "render",
    "report",
    "robustness",
    "synthetic",
    "targets",
)

__getattr__, __dir__, __all__ = lazy_namespace(__name__, _EXPORTS, _SUBMODULES)
