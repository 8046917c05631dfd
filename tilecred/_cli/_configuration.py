"""``tilecred config``: where calls go, and ``config save`` to keep it in a profile."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import msgspec

from tilecred._config import SOURCES, normalize_host, profile_file
from tilecred._files import sync_directory

from ._failures import CommandError, UsageError
from ._inputs import read_secret
from ._output import Style
from ._parser import EVERYWHERE, AddCommand, add_command
from ._session import client_for, token_source

__all__ = ["COMMANDS", "save_profile"]

# The global option behind each setting an "argument" source names.
_OPTIONS = {"host": "--host", "workspace": "--workspace", "home": "--home", "profile": "--profile"}


def _source_text(key: str, source: str, args: argparse.Namespace) -> str:
    """A source as a person reads it: ``command line --host`` rather than ``argument``."""
    if not source.startswith("argument"):
        return source
    if source.endswith("(bound token)") or key == "token":
        token = token_source(args)
        option = token.option if token is not None else "--token"
    else:
        option = _OPTIONS.get(key, key)
    return "command line " + option + source[len("argument") :]


def run_config(args: argparse.Namespace) -> int:
    """Print where calls go and where each setting came from; the token masked."""
    shown = client_for(args).settings.describe()
    sources = {key: _source_text(key, source, args) for key, source in shown.pop("sources").items()}
    ignored: dict[str, str] = shown.pop("ignored", {})
    if args.json:
        print(
            json.dumps({**shown, "sources": sources, **({"ignored": ignored} if ignored else {})})
        )
        return 0
    style = Style(sys.stdout)
    texts = {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in shown.items()}
    key_width = max(len(key) for key in [*texts, *(["ignored"] if ignored else [])])
    text_width = max(len(text) for text in texts.values())
    for key, text in texts.items():
        source = sources.get(key)
        line = style.paint(key.ljust(key_width), "bold") + "  "
        if source:
            line += text.ljust(text_width) + "  " + style.paint(f"({source})", "dim")
        else:
            line += text
        print(line)
    for key, why in ignored.items():
        # A setting given but not used: said, so that nobody wonders why it does nothing.
        label = style.paint("ignored".ljust(key_width), "yellow")
        print(f"{label}  {key} {why}")
    return 0


# -- config save ----------------------------------------------------------------------


def _profile_target(args: argparse.Namespace) -> tuple[Path, str]:
    name = getattr(args, "profile", None) or os.environ.get("TILEDB_PROFILE_NAME") or "default"
    return profile_file(), name


def _values_to_save(args: argparse.Namespace) -> dict[str, str]:
    """Profile keys from this command line first, then TileDB's environment."""
    given: dict[str, str | None] = {
        "host": getattr(args, "host", None),
        "workspace": getattr(args, "workspace", None),
    }
    source = token_source(args)
    if source is not None:
        given["token"] = read_secret(source, "API token")
    values: dict[str, str] = {}
    for setting, (variable, profile_key) in SOURCES.items():
        if profile_key is None:
            continue  # not a TileDB setting (the local store's home)
        value = given.get(setting)
        if value is None:
            value = os.environ.get(variable)
        if value:
            values[profile_key] = normalize_host(value) if setting == "host" else value
    return values


def save_profile(path: Path, name: str, values: dict[str, str]) -> None:
    """Merge ``values`` into profile ``name`` of a TileDB profiles file.

    The file is replaced atomically (a temporary file in the same directory,
    then ``os.replace``) and is readable by its owner only: it holds a token.
    Other profiles and keys are kept.

    Raises:
        CommandError: the existing file cannot be read or the new one written.
    """
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        profiles: dict[str, Any] = {}
    except OSError as exc:
        raise CommandError(f"cannot read {path}: {exc.strerror}") from exc
    else:
        try:
            profiles = msgspec.json.decode(raw, type=dict[str, Any])
        except msgspec.DecodeError as exc:
            raise CommandError(f"cannot update {path}: it is not a JSON object ({exc})") from None
    profile = profiles.get(name, {})
    if not isinstance(profile, dict):
        raise CommandError(f"cannot update {path}: profile {name!r} is not a JSON object")
    profiles[name] = {**profile, **values}
    profiles.setdefault("version", 1)
    data = (json.dumps(profiles, indent=2) + "\n").encode()
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        # mkstemp creates the file with mode 0600 before anything is written.
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".profiles-", suffix=".tmp")
    except OSError as exc:
        raise CommandError(f"cannot write {path}: {exc.strerror}") from exc
    try:
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, path)
        except BaseException:
            # Interrupted or failed: leave no temporary file behind.
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise
    except OSError as exc:
        raise CommandError(f"cannot write {path}: {exc.strerror}") from exc
    sync_directory(path.parent)


def run_config_save(args: argparse.Namespace) -> int:
    """Write the host, token and workspace in use into a TileDB profile."""
    values = _values_to_save(args)
    if not values:
        raise UsageError(
            "nothing to save: give --host, --workspace or a token "
            "(--token, --token-env, --token-file), or set TILEDB_REST_* variables"
        )
    path, name = _profile_target(args)
    save_profile(path, name, values)
    keys = ", ".join(sorted(values))
    print(f"saved {keys} to profile {name!r} in {path}")
    return 0


def _add_config(subparsers: Any, parents: list[argparse.ArgumentParser]) -> None:
    """Register ``config`` (show) and ``config save``."""
    config = add_command(
        subparsers, "config", parents=parents,
        summary="show where calls go and where each setting came from",
        description="Show where calls go (HTTP host and workspace, or the local store) and "
        "which source each setting came from: a command-line option, an environment "
        "variable, a TileDB profile, or a default. The token is masked.",
        examples="""
            tilecred config
            tilecred --profile work config --json
            tilecred --host https://api.example.com --token-env MY_TOKEN config save
        """,
    )  # fmt: skip
    config.add_argument("--json", action="store_true", help="print one JSON object")
    config.set_defaults(handler=run_config)
    actions = config.add_subparsers(dest="config_command", metavar="ACTION")
    show = add_command(
        actions, "show", parents=parents,
        summary="the same as plain `tilecred config`",
        examples="tilecred config show --json",
    )  # fmt: skip
    show.add_argument("--json", action="store_true", help="print one JSON object")
    show.set_defaults(handler=run_config)
    save = add_command(
        actions, "save", parents=parents, takes=EVERYWHERE - {"local", "home"},
        summary="write the host, token and workspace in use into a TileDB profile",
        description="Write the settings given on this command line (and TileDB's TILEDB_REST_* "
        "variables) into profile --profile (default: TILEDB_PROFILE_NAME, else 'default') "
        "of TILEDB_PROFILE_DIR/profiles.json (default ~/.tiledb), merging with what is "
        "there. The file is replaced atomically and is readable by its owner only (0600).",
        examples="""
            tilecred --host https://api.example.com --token-env MY_TOKEN config save
            printf %s "$TOKEN" | tilecred --profile work --workspace acme --token config save
        """,
    )  # fmt: skip
    save.set_defaults(handler=run_config_save)


COMMANDS: dict[str, AddCommand] = {"config": _add_config}
