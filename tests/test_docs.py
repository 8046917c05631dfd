"""The README and the docs say what the code does: examples run, names are defined."""

from __future__ import annotations

import contextlib
import inspect
import io
import re
import sys
from pathlib import Path

import pytest

import tilecred
from tilecred import ConfigurationError

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _ten_lines() -> str:
    """The README's "ten lines", between the markers the docs site includes them by."""
    section = README.split("--8<-- [start:ten-lines]", 1)[1].split("--8<-- [end:ten-lines]")[0]
    return section.split("```python\n", 1)[1].split("```", 1)[0]


def test_the_ten_lines_run_and_print_what_they_say() -> None:
    code = _ten_lines()
    assert len([line for line in code.splitlines() if line.strip()]) <= 10
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, "README.md", "exec"), {})  # against the throwaway local store
    first, second, third = out.getvalue().splitlines()
    claims = re.findall(r"  # (.+)$", code, flags=re.MULTILINE)
    assert first == claims[0]
    assert second.startswith("prod-s3 ")
    assert third == claims[2]  # the use: the variables a child process gets


def test_the_site_includes_the_ten_lines_from_the_readme() -> None:
    index = (ROOT / "docs" / "index.md").read_text(encoding="utf-8")
    assert '--8<-- "README.md:ten-lines"' in index
    assert "create_credential(" not in index  # no second copy to drift


def _documents() -> dict[str, str]:
    pages = {p.name: p.read_text(encoding="utf-8") for p in ROOT.glob("docs/*.md")}
    pages["README.md"] = README
    return pages


def test_install_instructions_use_the_source_not_pypi() -> None:
    # tilecred is not published: "pip install tilecred" would find nothing (or
    # someone else's package).
    unpublished = re.compile(r"pip install ['\"]?tilecred\b")
    for name, text in _documents().items():
        assert not unpublished.search(text), name
    assert "pip install ." in (ROOT / "docs" / "quickstart.md").read_text(encoding="utf-8")


def test_serve_without_its_extra_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    from tilecred._server._serve import make_server

    # None in sys.modules makes an import fail, as if the extra were not installed.
    for module in ("waitress", "waitress.server", "cheroot", "cheroot.wsgi"):
        monkeypatch.setitem(sys.modules, module, None)
    with pytest.raises(ConfigurationError) as caught:
        make_server(object(), "127.0.0.1", 0, 1)
    assert str(caught.value).startswith("tilecred serve needs ")
    assert str(caught.value).endswith(": pip install '.[server]' in a tilecred checkout")


# Names a signature may use without the docs defining them.
_KNOWN = {
    "None",
    "False",
    "True",
    "str",
    "int",
    "bool",
    "float",
    "object",
    "Any",
    "Iterable",
    "Path",
    "PathLike",
}


def test_every_name_in_a_public_signature_is_exported_or_documented() -> None:
    functions = (ROOT / "docs" / "functions.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^\| `(\w+)` \|", functions, flags=re.MULTILINE))
    signatures = [
        value
        for name in tilecred.__all__
        if callable(value := getattr(tilecred, name)) and not isinstance(value, type)
    ]
    signatures += [
        member
        for name, member in vars(tilecred.Client).items()
        if callable(member) and not name.startswith("_")
    ]
    undefined = set()
    for function in signatures:
        text = str(inspect.signature(function))
        for word in re.findall(r"[A-Za-z_]\w*", text.split("(", 1)[1]):
            if word[0].isupper() and word not in tilecred.__all__ and word not in _KNOWN:
                undefined.add(word)
    assert "ProviderArg" in documented
    assert undefined <= documented, undefined - documented
