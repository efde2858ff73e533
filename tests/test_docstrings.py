"""Public docstrings: numpydoc sections that match the signatures.

Every public class and function (the names in the ``__all__`` of ``skdigits``
and of its public subpackages) and every public method those classes define
is validated with numpydoc: it has a docstring, its Parameters section names
exactly the arguments of its signature, in order, and each public class and
function has an Examples section (which ``pytest --doctest-modules`` runs).
"""

import importlib
import inspect
from pathlib import Path

import pytest

numpydoc_validate = pytest.importorskip("numpydoc.validate")

PUBLIC_MODULES = [
    "skdigits",
    "skdigits.datasets",
    "skdigits.preprocessing",
    "skdigits.plotting",
    "skdigits.reading",
]

# numpydoc's error codes this test enforces, for every object checked.
CHECKED = {
    "GL08": "no docstring",
    "PR01": "arguments of the signature not documented",
    "PR02": "documented parameters that are not in the signature",
    "PR03": "parameters documented in another order than the signature",
    "PR10": "no space before the colon after a parameter name",
    "GL06": "unknown section",
    "GL07": "sections in the wrong order",
}
# ... and for public classes and functions (not their methods).
CHECKED_TOP_LEVEL = {**CHECKED, "EX01": "no Examples section"}


def _public_names():
    """Import paths of the public classes and functions."""
    names = []
    for module_name in PUBLIC_MODULES:
        module = importlib.import_module(module_name)
        for name in module.__all__:
            obj = getattr(module, name)
            if inspect.isclass(obj) or inspect.isfunction(obj):
                names.append(f"{module_name}.{name}")
    return names


def _public_methods(class_path):
    """Import paths of the public methods a skdigits class defines itself."""
    module_name, _, class_name = class_path.rpartition(".")
    cls = getattr(importlib.import_module(module_name), class_name)
    methods = []
    for name, member in vars(cls).items():
        if name.startswith("_"):
            continue
        function = getattr(member, "__func__", member)  # classmethod, staticmethod
        if not inspect.isfunction(function):
            continue
        if not function.__module__.startswith("skdigits"):
            continue  # e.g. score = ClassifierMixin.score: scikit-learn's docstring
        methods.append(f"{class_path}.{name}")
    return methods


def _objects_to_check():
    params = []
    for path in _public_names():
        params.append(pytest.param(path, CHECKED_TOP_LEVEL, id=path))
        module_name, _, name = path.rpartition(".")
        if inspect.isclass(getattr(importlib.import_module(module_name), name)):
            for method in _public_methods(path):
                params.append(pytest.param(method, CHECKED, id=method))
    return params


def _api_reference_entries():
    """Import paths listed in docs/api.rst's autosummary tables."""
    api = Path(__file__).resolve().parents[1] / "docs" / "api.rst"
    entries, module = set(), None
    for line in api.read_text().splitlines():
        if line.startswith(".. currentmodule::"):
            module = line.split("::", 1)[1].strip()
        elif line.startswith("   ") and line.strip().isidentifier():
            entries.add(f"{module}.{line.strip()}")
    return entries


def test_every_public_name_is_in_the_api_reference():
    assert set(_public_names()) == _api_reference_entries()


@pytest.mark.parametrize("import_path, codes", _objects_to_check())
def test_docstring(import_path, codes):
    result = numpydoc_validate.validate(import_path)
    errors = [
        f"{code} ({codes[code]}): {message}"
        for code, message in result["errors"]
        if code in codes
    ]
    assert not errors, f"{import_path}:\n" + "\n".join(errors)
