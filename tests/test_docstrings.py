"""Every ``>>>`` example in the package's docstrings runs and prints what it says."""

from __future__ import annotations

import doctest
import importlib
import importlib.util
import pkgutil
from types import ModuleType

import pytest

import tilecred

# Modules that exist only for an optional extra, and the package they import.
_EXTRA_MODULES = {
    "tilecred._access._boto3": "boto3",
    "tilecred.integrations.airflow": "airflow",
    "tilecred.integrations.dagster": "dagster",
    "tilecred.integrations.prefect": "prefect",
}


def _modules() -> list[ModuleType]:
    modules = [tilecred]
    for info in pkgutil.walk_packages(tilecred.__path__, "tilecred."):
        if info.name == "tilecred.__main__":
            continue  # importing it runs the command line
        if (
            info.name in _EXTRA_MODULES
            and importlib.util.find_spec(_EXTRA_MODULES[info.name]) is None
        ):
            continue  # the optional extra it is for is not installed here
        # The server's modules import cheroot only when serving, so every
        # other module imports without the optional extra.
        modules.append(importlib.import_module(info.name))
    return modules


@pytest.mark.parametrize("module", _modules(), ids=lambda m: m.__name__)
def test_docstring_examples_run(module: ModuleType) -> None:
    # The autouse fixture points TILECRED_HOME at a fresh directory, so the
    # examples run against a throwaway local store.
    finder = doctest.DocTestFinder()
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    globs = {name: getattr(tilecred, name) for name in tilecred.__all__}
    for test in finder.find(module, module.__name__, globs=dict(globs)):
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{result.failed} docstring example(s) failed in {module.__name__}"


def test_there_are_docstring_examples() -> None:
    finder = doctest.DocTestFinder()
    # Public objects say __module__ == "tilecred", so they are found there.
    examples = sum(len(t.examples) for t in finder.find(tilecred, "tilecred"))
    assert examples >= 10
