"""Call exported SavedModel signatures the way TF Serving does, importing TensorFlow only.

    python tests/serving_check.py JOB.json OUT_DIR

JOB.json is a list of calls, each
    {"id": str, "model": SAVED_MODEL_DIR, "signature": NAME, "inputs": {NAME: FILE.npy}}
or, for a REST request,
    {"id": str, "model": SAVED_MODEL_DIR, "rest_body": FILE.json}
where the body is what a client POSTs to /v1/models/NAME:predict:
    {"signature_name": "serve_bytes", "instances": [{"b64": "..."}, ...]}
    {"signature_name": "...", "instances": [{"image_bytes": {"b64": "..."}, "style": 1, ...}]}

Each call's outputs are written to OUT_DIR/<id>.<output>.npy (REST: OUT_DIR/<id>.response.json,
with string outputs named *_bytes base64-encoded as TF Serving's REST API encodes them), or its
error to OUT_DIR/<id>.error.json as {"type": ..., "message": ...}. OUT_DIR/modules.json lists
whether `keras_styletransfer` (or keras) was imported: the point is that it was not.
"""

import base64
import json
import os
import sys

import numpy as np
import tensorflow as tf


def _decode_json_value(value):
    """TF Serving's JSON rule: {"b64": s} is the bytes base64-decoded; lists recurse."""
    if isinstance(value, dict) and set(value) == {"b64"}:
        return base64.b64decode(value["b64"])
    if isinstance(value, list):
        return [_decode_json_value(item) for item in value]
    return value


def _rest_inputs(body, function):
    """The tensors TF Serving builds from a row-format ("instances") predict body."""
    arguments, keywords = function.structured_input_signature
    specs = {spec.name: spec for spec in arguments}
    specs.update(keywords)
    instances = body["instances"]
    if len(specs) == 1 and not (isinstance(instances[0], dict) and set(instances[0]) != {"b64"}):
        rows = {next(iter(specs)): instances}
    else:
        rows = {name: [instance[name] for instance in instances] for name in specs}
    return {
        name: tf.constant(_decode_json_value(values), dtype=specs[name].dtype)
        for name, values in rows.items()
    }


def _rest_response(outputs):
    """TF Serving's row-format response: {"predictions": [...]}; *_bytes strings as b64."""

    def encode(name, value):
        value = value.tolist() if hasattr(value, "tolist") else value
        if isinstance(value, bytes):
            if name.endswith("_bytes"):
                return {"b64": base64.b64encode(value).decode("ascii")}
            return value.decode("utf-8", "replace")
        return value

    arrays = {name: tensor.numpy() for name, tensor in outputs.items()}
    rows = len(next(iter(arrays.values())))
    if len(arrays) == 1:
        name, array = next(iter(arrays.items()))
        return {"predictions": [encode(name, array[i]) for i in range(rows)]}
    return {
        "predictions": [
            {name: encode(name, array[i]) for name, array in arrays.items()} for i in range(rows)
        ]
    }


def main(job_path, out_dir):
    with open(job_path) as file:
        calls = json.load(file)
    loaded = {}
    for call in calls:
        model = loaded.setdefault(call["model"], tf.saved_model.load(call["model"]))
        try:
            if "rest_body" in call:
                with open(call["rest_body"]) as file:
                    body = json.load(file)
                function = model.signatures[body.get("signature_name", "serving_default")]
                outputs = function(**_rest_inputs(body, function))
                with open(os.path.join(out_dir, f"{call['id']}.response.json"), "w") as file:
                    json.dump(_rest_response(outputs), file)
            else:
                function = model.signatures[call["signature"]]
                inputs = {name: tf.constant(np.load(path)) for name, path in call["inputs"].items()}
                for name, tensor in function(**inputs).items():
                    np.save(os.path.join(out_dir, f"{call['id']}.{name}.npy"), tensor.numpy())
        except tf.errors.OpError as error:
            with open(os.path.join(out_dir, f"{call['id']}.error.json"), "w") as file:
                json.dump({"type": type(error).__name__, "message": error.message}, file)
    with open(os.path.join(out_dir, "modules.json"), "w") as file:
        json.dump(
            {
                "keras_styletransfer": any(
                    m.startswith("keras_styletransfer") for m in sys.modules
                ),
                "signatures": {path: sorted(m.signatures) for path, m in loaded.items()},
            },
            file,
        )


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
