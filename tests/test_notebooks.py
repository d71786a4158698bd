"""Notebooks: valid nbformat 4 JSON whose package imports resolve, stored without outputs, and
executed top to bottom (nbclient, a fresh kernel each, in a temporary folder) with the outputs
each one promises."""

import ast
import importlib
import json
import pathlib

import pytest

from keras_styletransfer.config import TRANSLATION_FAMILIES

NOTEBOOK_DIR = pathlib.Path(__file__).parents[1] / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))

# What each notebook must print (any code cell's text output) and the files it must write,
# relative to the folder it runs in.
EXPECTED = {
    "01_quickstart.ipynb": (
        ["D unchanged by a generator step: True", "refused: The generator makes images of shape",
         "DCGAN samples: (16, 64, 64, 3)", "digits covered:"],
        [],
    ),
    "02_style_transfer.ipynb": (
        ["strength 0 is the photo: True", "beats the photo on", "retina (1411, 1411, 3) ->"],
        ["notebook_runs/pix2pix_pencil/results.png", "notebook_runs/pix2pix_pencil/metrics.json",
         "notebook_runs/pix2pix_pencil/explanations/report.html"],
    ),
    "03_unpaired.ipynb": (
        ["{'trainA': 36, 'trainB': 36}", "cyclegan directions: ('AB', 'BA')"],
        ["notebook_runs/cyclegan_pencil/final.keras", "notebook_runs/photos2pencil/trainB"],
    ),
    "04_explainability.ipynb": (
        ["watermarked D: shortcut", "clean D:       no shortcut", "the edit map sums to",
         "strength 0 returns the photo: True", "PGD moves D's verdict"],
        ["notebook_runs/explain/report/report.png", "notebook_runs/explain/report/report.html",
         "notebook_runs/explain/gradients/gradient_flow_epoch_002.png"],
    ),
    "05_scale_and_serve.ipynb": (
        ["replicas in a mirrored strategy: 2", "trained on mirrored",
         "response: one PNG of (256, 218, 3)", "generator layers trained:"],
        ["notebook_runs/serve/exported/styles/1/saved_model.pb",
         "notebook_runs/serve/fine_tune/metrics.json"],
    ),
}  # fmt: skip


def test_there_are_notebooks_and_each_has_its_expectations():
    assert sorted(path.name for path in NOTEBOOKS) == sorted(EXPECTED)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_code_compiles_and_its_package_names_exist(path):
    notebook = json.loads(path.read_text())
    assert notebook["nbformat"] == 4
    code = ["".join(c["source"]) for c in notebook["cells"] if c["cell_type"] == "code"]
    assert code
    for source in code:
        tree = ast.parse(source)  # a syntax error fails here
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module.startswith("keras_styletransfer"):
                module = importlib.import_module(node.module)
                for alias in node.names:
                    assert hasattr(module, alias.name), f"{node.module}.{alias.name}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebooks_are_stored_without_outputs_and_define_no_library_code(path):
    notebook = json.loads(path.read_text())
    for cell in notebook["cells"]:
        if cell["cell_type"] == "code":
            assert not cell["outputs"] and cell["execution_count"] is None, "clear the outputs"
            tree = ast.parse("".join(cell["source"]))
            defined = [n.name for n in tree.body if isinstance(n, ast.ClassDef)]
            assert not defined, f"classes belong in the package, not a notebook: {defined}"


def _text_outputs(notebook):
    texts = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream":
                texts.append(output["text"])
            elif "data" in output and "text/plain" in output["data"]:
                texts.append(output["data"]["text/plain"])
    return "\n".join(texts)


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs_top_to_bottom(path, tmp_path):
    nbclient = pytest.importorskip("nbclient")
    nbformat = pytest.importorskip("nbformat")
    notebook = nbformat.read(str(path), as_version=4)
    client = nbclient.NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": tmp_path}}
    )
    client.execute()  # a failing cell raises CellExecutionError, naming the cell
    text = _text_outputs(notebook)
    printed, written = EXPECTED[path.name]
    if path.name == "03_unpaired.ipynb" and "cut" in TRANSLATION_FAMILIES:
        written = [*written, "notebook_runs/cut_pencil/final.keras"]
    for fragment in printed:
        assert fragment in text, f"{path.name} did not print {fragment!r}"
    for relative in written:
        assert (tmp_path / relative).exists(), f"{path.name} did not write {relative}"
    figures = sum(
        "image/png" in output.get("data", {})
        for cell in notebook.cells
        for output in cell.get("outputs", [])
    )
    assert figures >= 2, f"{path.name} showed {figures} figures"
