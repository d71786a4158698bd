"""The package's shape: imports flow one way, no cycles, no global side effects, small modules.

The layer order is declared here (and drawn in ARCHITECTURE.md): a module may import from its own
layer or a lower one. Every import counts, including those inside functions, so a lazy import
cannot hide an upward edge.
"""

import ast
import pathlib

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parents[1] / "keras_styletransfer"

# Low to high. A name matches a module or a whole subpackage (its prefix).
LAYERS = [
    ["errors", "lazy"],
    ["validation", "seeding", "files"],
    ["images", "replicas", "config"],
    ["kernels", "layers", "losses", "augment", "optimizers"],
    ["models"],
    ["data"],
    ["metrics", "evaluation", "serving", "distribute"],
    ["explain"],
    ["training"],
    ["cli"],
]
MAX_LINES = 650  # "no module over ~600 lines"


def _module_name(path):
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _modules():
    return {_module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def _imports(name, path):
    """Package modules `name` imports (absolute names), anywhere in the file."""
    is_package = path.name == "__init__.py"
    modules = _modules()
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("keras_styletransfer")}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".") if is_package else name.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            if not module.startswith("keras_styletransfer"):
                continue
            for alias in node.names:  # `from keras_styletransfer.models import gan` is a module
                submodule = f"{module}.{alias.name}"
                found.add(submodule if submodule in modules else module)
    return {m for m in found if m in modules and m != name}


def _rank(module):
    short = module.removeprefix("keras_styletransfer.")
    for rank, names in enumerate(LAYERS):
        for entry in names:
            if short == entry or short.startswith(entry + "."):
                return rank
    return None


def _graph():
    modules = _modules()
    return {name: _imports(name, path) for name, path in modules.items()}


def test_every_module_has_a_declared_layer():
    unplaced = [m for m in _modules() if m != "keras_styletransfer" and _rank(m) is None]
    assert not unplaced, f"add these modules to LAYERS (and ARCHITECTURE.md): {unplaced}"


def test_imports_flow_downwards_only():
    upward = []
    for module, targets in _graph().items():
        if module == "keras_styletransfer":  # the public API facade names everything
            continue
        for target in targets:
            if target == "keras_styletransfer":
                upward.append(f"{module} -> the package root (import the defining module)")
            elif _rank(target) > _rank(module):
                upward.append(f"{module} -> {target}")
    assert not upward, "upward imports:\n" + "\n".join(sorted(upward))


def test_no_import_cycles():
    graph = {m: t for m, t in _graph().items() if m != "keras_styletransfer"}
    # A package's __init__ importing its own submodules is not a cycle of design.
    for module in graph:
        graph[module] = {t for t in graph[module] if not module.startswith(t + ".")}
    state, stack, cycles = {}, [], []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == "open":
                cycles.append([*stack[stack.index(target) :], target])
            elif target not in state:
                visit(target)
        stack.pop()
        state[node] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module)
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)


@pytest.mark.parametrize(
    "module,forbidden",
    [
        # config is pure data: it imports nothing of the package, not even errors.
        ("keras_styletransfer.config", "keras_styletransfer."),
        ("keras_styletransfer.models.", "keras_styletransfer.explain"),
        ("keras_styletransfer.models.", "keras_styletransfer.metrics"),
        ("keras_styletransfer.models.", "keras_styletransfer.serving"),
        ("keras_styletransfer.distribute", "keras_styletransfer.training"),
        ("keras_styletransfer.distribute", "keras_styletransfer.config"),
    ],
)
def test_named_boundaries(module, forbidden):
    offenders = [
        f"{name} -> {target}"
        for name, targets in _graph().items()
        if name == module or name.startswith(module)
        for target in targets
        if target.startswith(forbidden)
    ]
    assert not offenders, offenders


def _calls(path):
    """(dotted name, line) of every call in a file."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call):
            parts, target = [], node.func
            while isinstance(target, ast.Attribute):
                parts.append(target.attr)
                target = target.value
            if isinstance(target, ast.Name):
                parts.append(target.id)
            yield ".".join(reversed(parts)), node.lineno


def test_library_code_changes_no_global_state():
    """No process-wide reseeding and no matplotlib backend switch / pyplot outside the CLI."""
    found = []
    for name, path in _modules().items():
        if name.startswith("keras_styletransfer.cli"):
            continue
        for call, line in _calls(path):
            if call.endswith("set_random_seed") or call in ("matplotlib.use", "tf.random.set_seed"):
                found.append(f"{name}:{line} {call}")
        text = path.read_text()
        if "matplotlib.pyplot" in text or "import pyplot" in text:
            found.append(f"{name}: imports matplotlib.pyplot (use images.new_figure)")
    assert not found, found


def test_modules_hold_one_thing_each():
    long = {
        name: count
        for name, path in _modules().items()
        if (count := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert not long, f"modules over {MAX_LINES} lines: {long}"
