"""The shell and Python blocks of README.md and docs/*.md, and how each one runs.

A block that cannot run on a developer's machine says why in an HTML comment on
the line just above its fence, which the rendered page does not show:

    <!-- not run: it needs a PostgreSQL server at db.internal -->

Every other ``python``, ``pycon``, ``sh`` and ``console`` block runs. A doctest
block whose output is an example's (times, ids) runs with its output unchecked,
and says so the same way:

    <!-- output not checked: the times and ids are an example's -->
 The
blocks of one page run in order against one throwaway store, so a page may
create a credential in one block and list it in the next.

- ``python`` blocks of plain code run with ``exec``; blocks of ``>>>`` lines
  (and ``pycon``) run as doctests, their printed output compared.
- ``sh`` blocks run in bash with ``set -e``.
- ``console`` blocks run each ``$`` command in one bash session; a command
  whose shown output starts with an error (``error:`` or ``tilecred …: error:``)
  must fail, every other command must succeed.
"""

from __future__ import annotations

import doctest
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUNNABLE = ("python", "pycon", "sh", "console")
TAG = re.compile(r"^\s*<!-- (?P<kind>not run|output not checked): (?P<why>\S.*\S) -->\s*$")
_FENCE = re.compile(r"^(?P<indent>\s*)```(?P<lang>\w*)\s*$")


@dataclass(frozen=True)
class Block:
    """One fenced block: where it is, its language, its text, and its tag (kind, why)."""

    page: str
    line: int
    lang: str
    text: str
    tag: tuple[str, str] | None

    @property
    def runs(self) -> bool:
        return self.tag is None or self.tag[0] != "not run"

    @property
    def where(self) -> str:
        return f"{self.page}:{self.line}"


def pages() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def blocks(path: Path) -> list[Block]:
    """The runnable-language blocks of one page, in order."""
    lines = path.read_text(encoding="utf-8").splitlines()
    found = []
    index = 0
    while index < len(lines):
        opening = _FENCE.match(lines[index])
        if opening is None:
            index += 1
            continue
        end = index + 1
        while not lines[end].strip().startswith("```"):
            end += 1
        if opening["lang"] in RUNNABLE:
            indent = len(opening["indent"])
            text = "\n".join(line[indent:] for line in lines[index + 1 : end]) + "\n"
            tag = TAG.match(lines[index - 1]) if index else None
            name = path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else path.name
            kind_why = (tag["kind"], tag["why"]) if tag else None
            found.append(Block(name, index + 1, opening["lang"], text, kind_why))
        index = end + 1
    return found


def run_python(block: Block, namespace: dict[str, object]) -> None:
    """Run a Python block in the page's namespace; ``>>>`` blocks as doctests."""
    if block.lang == "pycon" or block.text.lstrip().startswith(">>>"):
        test = doctest.DocTestParser().get_doctest(
            block.text, namespace, block.where, block.page, block.line
        )
        flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
        checker = _Unchecked() if block.tag else None  # an exception still fails
        runner = doctest.DocTestRunner(checker=checker, optionflags=flags)
        report: list[str] = []
        runner.run(test, out=report.append, clear_globs=False)
        namespace.update(test.globs)  # the doctest ran in a copy: the next block sees its names
        assert runner.failures == 0, "".join(report)
        return
    exec(compile(block.text, block.where, "exec"), namespace)


class _Unchecked(doctest.OutputChecker):
    def check_output(self, want: str, got: str, optionflags: int) -> bool:
        return True


_ERROR = re.compile(r"^(tilecred[\w ]*: )?error: ")


def console_commands(text: str) -> list[tuple[str, bool]]:
    """Each ``$`` command of a console block (continuation lines joined), and
    whether the output shown under it says it fails."""
    commands: list[tuple[str, bool]] = []
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        line = lines[index]
        index += 1
        if not line.startswith("$ "):
            continue
        command = line[2:]
        while command.endswith("\\") and index < len(lines):
            command = command + "\n" + lines[index]
            index += 1
        shown = lines[index] if index < len(lines) else ""
        commands.append((command, bool(_ERROR.match(shown))))
    return commands


def run_shell(block: Block, cwd: Path, env: dict[str, str]) -> None:
    """Run an sh block (``set -e``) or each command of a console block."""
    if block.lang == "sh":
        script = "set -e\n" + block.text
        done = subprocess.run(
            ["bash", "-c", script], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, f"{block.where}: exit {done.returncode}\n{done.stderr}"
        return
    # One bash process for the block, so an export holds for the commands after it;
    # after each command, its exit status on a line of its own.
    marker = "__tilecred_doc_status__"
    script = "".join(
        f"{command}\nprintf '\\n{marker} %s\\n' $? >&2\n"
        for command, _ in console_commands(block.text)
    )
    done = subprocess.run(
        ["bash", "-c", script], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )
    statuses = [int(s) for s in re.findall(rf"^{marker} (\d+)$", done.stderr, flags=re.M)]
    expected = console_commands(block.text)
    assert len(statuses) == len(expected), f"{block.where}: stopped early\n{done.stderr}"
    for (command, fails), status in zip(expected, statuses, strict=True):
        assert (status != 0) == fails, f"{block.where}: `{command}` exit {status}\n{done.stderr}"


def shell_env(home: Path, bin_dir: Path) -> dict[str, str]:
    """The environment a page's shell blocks run in: a throwaway home, this
    checkout's tilecred first on PATH, and nothing of the machine's configuration."""
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("TILEDB_", "TILECRED_"))}
    keep = {k: v for k, v in keep.items() if not k.lower().endswith("_proxy")}
    return {
        **keep,
        "HOME": str(home),
        "TILECRED_HOME": str(home / "tilecred"),
        "TILEDB_PROFILE_DIR": str(home / ".tiledb"),
        "XDG_DATA_HOME": str(home / ".local" / "share"),
        # This interpreter's directory next: ``python`` in a block is the one with tilecred.
        "PATH": os.pathsep.join([str(bin_dir), str(Path(sys.executable).parent), keep["PATH"]]),
        "PYTHONPATH": str(ROOT),
        # What a reader of the pages has in the environment already.
        "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "AZURE_SAS": "sv=2024-11-04&ss=b&sig=EXAMPLE",
    }
