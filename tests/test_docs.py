"""The README and the docs say what the code does: examples run, names are defined."""

from __future__ import annotations

import contextlib
import inspect
import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import tilecred
from tests import _doc_blocks
from tests.conftest import CANARY_SECRET
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


def _tilecred_on_path(bin_dir: Path) -> Path:
    """A ``tilecred`` command that runs this checkout's code with this interpreter."""
    bin_dir.mkdir(exist_ok=True)
    script = bin_dir / "tilecred"
    script.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m tilecred "$@"\n', encoding="utf-8")
    script.chmod(0o755)
    return bin_dir


def _lake_and_ml() -> None:
    """What a page that talks about them assumes: an AWS key pair 'lake', allowed
    in tasks and used once, and teamspace 'ml' with a role 'prod-s3' in it."""
    tilecred.create_credential("lake", "AWS", allowed_in_tasks=True, credential={"aws": {
        "access_key_id": "AKIAIOSFODNN7EXAMPLE", "secret_access_key": CANARY_SECRET}})  # fmt: skip
    with tilecred.use_credential("lake"):
        pass
    tilecred.create_credential("prod-s3", "AWS", teamspace="ml", role={"aws": {
        "role_arn": "arn:aws:iam::123456789012:role/demo"}})  # fmt: skip
    tilecred.configure()  # the page's own blocks start from a fresh default client


def _lake_in_two_places() -> None:
    """What docs/using.md assumes: 'lake' in the workspace, not allowed in tasks,
    and 'lake' in teamspace 'ml', allowed."""
    keys = {"aws": {"access_key_id": "AKIAIOSFODNN7EXAMPLE", "secret_access_key": CANARY_SECRET}}
    tilecred.create_credential("lake", "AWS", credential=keys)
    tilecred.create_credential(
        "lake", "AWS", teamspace="ml", allowed_in_tasks=True, credential=keys
    )
    tilecred.configure()


# The pages whose blocks take up a story told before them.
_ASSUMED = {
    "cli.md": _lake_and_ml,
    "lifecycle.md": _lake_and_ml,
    "pager.md": _lake_and_ml,
    "using.md": _lake_in_two_places,
}


@pytest.mark.parametrize("page", _doc_blocks.pages(), ids=lambda p: p.name)
def test_every_untagged_block_of_a_page_runs(
    page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    env = _doc_blocks.shell_env(home, _tilecred_on_path(tmp_path / "bin"))
    for variable in ("HOME", "TILECRED_HOME", "TILEDB_PROFILE_DIR", "XDG_DATA_HOME"):
        monkeypatch.setenv(variable, env[variable])
    monkeypatch.chdir(home)
    _ASSUMED.get(page.name, lambda: None)()
    namespace: dict[str, object] = {"__name__": "__docs__"}
    failed = []
    for block in _doc_blocks.blocks(page):
        if not block.runs:
            continue
        try:
            if block.lang in ("python", "pycon"):
                with contextlib.redirect_stdout(io.StringIO()):
                    _doc_blocks.run_python(block, namespace)
            else:
                _doc_blocks.run_shell(block, home, env)
        except Exception as exc:  # every failing block of the page, not only the first
            failed.append(f"{block.where} ({block.lang}): {type(exc).__name__}: {exc}")
    assert not failed, "\n\n".join(failed)


def _run_quickstart(home: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """examples/quickstart.py as a newcomer runs it: its own process, a throwaway home."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("TILEDB_", "TILECRED_"))}
    clean.update(HOME=str(home), TMPDIR=str(home), PYTHONPATH=str(ROOT), **env)
    return subprocess.run(
        [sys.executable, str(ROOT / "examples" / "quickstart.py")],
        cwd=home, env=clean, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


_TOUR = [
    "   created 4 in the workspace and 3 in teamspace 'ml' (it came into being)",
    "   teamspace='ml', per_page=2: 3 items on 2 pages",
    "   get_credential('lake-keys').credential = "
    "Credential(aws=AWSCredential(access_key_id='AKIAIOSFODNN7EXAMPLE'))",
    "   good role ARN: verified",
    "   could not get credential 'gcs-hmac': 404 Not Found: credential not found",
    "   tilecred.db    mode 600  secret in file: False",
]


def test_the_quickstart_tour_runs_to_the_end_on_a_fresh_machine(tmp_path: Path) -> None:
    done = _run_quickstart(tmp_path)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert set(_TOUR) <= set(lines), done.stdout
    assert lines[-1].startswith(f"Removed {tmp_path}/tilecred-quickstart-")
    assert [p.name for p in tmp_path.iterdir()] == []  # the throwaway store is gone
    assert "wJalrXUtnFEMI" not in done.stdout + done.stderr


def test_the_quickstart_tour_runs_on_a_fresh_kept_store_and_again(tmp_path: Path) -> None:
    store = tmp_path / "kept"
    for _ in range(2):  # the second run clears what the first left in the store
        done = _run_quickstart(tmp_path, TILECRED_HOME=str(store))
        assert done.returncode == 0, done.stderr
        assert set(_TOUR) <= set(done.stdout.splitlines()), done.stdout
        assert "   workspace: quickstart" in done.stdout.splitlines()
    assert sorted(p.name for p in store.iterdir()) == ["key", "tilecred.db"]


def _page(tmp_path: Path, text: str) -> list[_doc_blocks.Block]:
    page = tmp_path / "page.md"
    page.write_text(text, encoding="utf-8")
    return _doc_blocks.blocks(page)


def test_a_tag_says_why_a_block_does_not_run_and_an_untagged_block_runs(tmp_path: Path) -> None:
    tagged, bare, unreasoned = _page(
        tmp_path,
        "<!-- not run: it needs a server -->\n```sh\nfalse\n```\n\n```console\n$ true\n```\n"
        "<!-- not run: -->\n```python\nx = 1\n```\n",
    )
    assert (tagged.runs, tagged.tag) == (False, ("not run", "it needs a server"))
    assert (bare.runs, bare.lang, bare.text) == (True, "console", "$ true\n")
    assert (unreasoned.runs, unreasoned.tag) == (True, None)  # a tag must give its reason


def test_a_console_command_must_fail_exactly_when_its_shown_output_is_an_error(
    tmp_path: Path,
) -> None:
    fails_quietly, succeeds_despite_error, right = _page(
        tmp_path,
        "```console\n$ false\n```\n```console\n$ true\nerror: no\n```\n"
        '```console\n$ export X=1\n$ test "$X" = 2\ntilecred get: error: no\n```\n',
    )
    env = dict(os.environ)
    with pytest.raises(AssertionError, match=r"`false` exit 1"):
        _doc_blocks.run_shell(fails_quietly, tmp_path, env)
    with pytest.raises(AssertionError, match=r"`true` exit 0"):
        _doc_blocks.run_shell(succeeds_despite_error, tmp_path, env)
    _doc_blocks.run_shell(right, tmp_path, env)  # the export holds for the next command


def test_a_doctest_block_compares_its_output_unless_tagged(tmp_path: Path) -> None:
    wrong, unchecked = _page(
        tmp_path,
        "```pycon\n>>> 1 + 1\n3\n```\n<!-- output not checked: an example's -->\n"
        "```python\n>>> 1 + 1\n3\n>>> undefined_name\n```\n",
    )
    with pytest.raises(AssertionError, match=r"Expected:\s+3\s+Got:\s+2"):
        _doc_blocks.run_python(wrong, {})
    with pytest.raises(AssertionError, match="NameError"):  # an exception still fails
        _doc_blocks.run_python(unchecked, {})
