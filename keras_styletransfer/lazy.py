"""Package namespaces whose names load on first use (PEP 562), so listing or checking a name does
not import TensorFlow. The one helper behind the `__init__` of the package and its subpackages.
"""

from __future__ import annotations

import importlib


def lazy_namespace(package, exports, submodules=()):
    """`(__getattr__, __dir__, __all__)` for a package whose names live in its submodules.

    Args:
        package: str. The package's `__name__`.
        exports: dict name -> module (absolute, or relative to `package` when it starts with ".").
        submodules: iterable of str. Submodule names also reachable as attributes.

    Returns:
        The two module-level functions and the sorted `__all__` list.
    """
    exports = dict(exports)
    submodules = tuple(submodules)

    def module_of(name):
        target = exports[name]
        return (
            importlib.import_module(target, package)
            if target.startswith(".")
            else (importlib.import_module(target))
        )

    def __getattr__(name):
        if name in exports:
            return getattr(module_of(name), name)
        if name in submodules:
            return importlib.import_module(f"{package}.{name}")
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    names = sorted({*exports, *submodules})

    def __dir__():
        return names

    return __getattr__, __dir__, names
