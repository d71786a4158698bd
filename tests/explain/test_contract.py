"""`explain` uses only the public contract of the adversarial wrappers: no private attribute of a
model, and no switching on the wrapper class."""

import ast
import pathlib

import keras_styletransfer.explain

EXPLAIN = pathlib.Path(keras_styletransfer.explain.__file__).parent
# Names explain gives a wrapper (or any model) it is handed.
MODEL_NAMES = {"model", "wrapper", "candidate", "gan", "trained", "model_or_target"}
WRAPPER_CLASSES = {"GAN", "Pix2Pix", "CycleGAN", "MultiStyleGAN"}


def modules():
    paths = sorted(EXPLAIN.glob("*.py"))
    assert len(paths) >= 10  # the scan really reads the package
    return [(path.name, ast.parse(path.read_text(), str(path))) for path in paths]


def names_a_model(node):
    """`model`, `self.model`, `wrapper`, ...: an expression that is a model handed to explain."""
    if isinstance(node, ast.Name):
        return node.id in MODEL_NAMES
    return isinstance(node, ast.Attribute) and node.attr in MODEL_NAMES


def test_no_private_attribute_of_a_model_is_used_in_explain():
    found = []
    for name, tree in modules():
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and node.attr.startswith("_")
                and not node.attr.startswith("__")
                and names_a_model(node.value)
            ):
                found.append(f"{name}:{node.lineno} .{node.attr}")
    assert not found, found


def test_the_scan_would_catch_a_private_call():
    tree = ast.parse("model._discriminate(a, b)\nself.model._seed_states()\nother._x\n")
    hits = [
        node.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and node.attr.startswith("_")
        and names_a_model(node.value)
    ]
    assert sorted(hits) == ["_discriminate", "_seed_states"]


def class_names(node):
    """Every name and attribute name in an expression (`isinstance`'s class argument)."""
    return {
        n.id if isinstance(n, ast.Name) else n.attr
        for n in ast.walk(node)
        if isinstance(n, ast.Name | ast.Attribute)
    }


def test_explain_does_not_switch_on_the_wrapper_class():
    for name, tree in modules():
        for node in ast.walk(tree):
            is_isinstance = isinstance(node, ast.Call) and getattr(node.func, "id", None) in {
                "isinstance",
                "issubclass",
            }
            if is_isinstance and len(node.args) == 2:
                assert not class_names(node.args[1]) & WRAPPER_CLASSES, f"{name}:{node.lineno}"
            # No class-name chains such as `family == "Pix2Pix"`, no `model_family(...)`.
            if isinstance(node, ast.Constant) and name == "gradients.py":
                assert node.value not in WRAPPER_CLASSES, f"{name}:{node.lineno} {node.value!r}"
            if isinstance(node, ast.Name | ast.Attribute):
                label = node.id if isinstance(node, ast.Name) else node.attr
                assert label not in {"model_family", "_PROBE_KEYS", "domain_names"}, (
                    f"{name}:{node.lineno} {label}"
                )
    gradients = (EXPLAIN / "gradients.py").read_text()
    assert "hasattr(" not in gradients


def test_the_class_scan_would_catch_a_switch():
    call = ast.parse("isinstance(model, (GAN, models.CycleGAN))").body[0].value
    assert class_names(call.args[1]) & WRAPPER_CLASSES == {"GAN", "CycleGAN"}
