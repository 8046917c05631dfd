"""Where calls go, and where each setting came from.

Settings are merged key by key: explicit arguments, then TileDB's environment
variables, then a TileDB profile file, then defaults. With no host, token or
user anywhere, calls go to the local store (the embedded default).
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

import msgspec

if TYPE_CHECKING:
    from pathlib import Path

    from ._proxy import Proxies

from ._errors import MASK, ConfigurationError, InvalidArgumentError

__all__ = [
    "DEFAULT_HOST",
    "SOURCES",
    "Settings",
    "default_home",
    "mask_token",
    "profile_file",
    "resolve_home",
    "resolve_settings",
    "workspace_from_token",
]

DEFAULT_HOST = "https://api.tiledb.com"
DEFAULT_TIMEOUT = 30.0
DEFAULT_RETRIES = 3

# The local store's master key, base64 (read by tilecred._local._keys).
MASTER_KEY_ENV = "TILECRED_MASTER_KEY"
# A PostgreSQL store's URL: used instead of the SQLite file in the home directory.
DATABASE_ENV = "TILECRED_DATABASE_URL"

# setting -> (environment variable, profile key)
SOURCES: dict[str, tuple[str, str | None]] = {
    "token": ("TILEDB_REST_TOKEN", "rest.token"),
    "host": ("TILEDB_REST_SERVER_ADDRESS", "rest.server_address"),
    "workspace": ("TILEDB_REST_WORKSPACE", "rest.workspace"),
    "teamspace": ("TILECRED_TEAMSPACE", "teamspace"),
    "username": ("TILEDB_REST_USERNAME", "rest.username"),
    "password": ("TILEDB_REST_PASSWORD", "rest.password"),
    "verify_ssl": ("TILEDB_REST_VERIFY_SSL", "rest.verify_ssl"),
    "ca_file": ("TILEDB_SSL_CA_FILE", "ssl.ca_file"),
    "home": ("TILECRED_HOME", None),
}
_FALSE_WORDS = frozenset({"false", "0", "no", "off"})


@dataclasses.dataclass(frozen=True)
class Settings:
    """One client's resolved configuration.

    ``sources`` says, for each setting that has a value, where it came from:
    ``"argument"``, ``"environment TILEDB_REST_TOKEN"``,
    ``"profile default in /home/me/.tiledb/profiles.json"`` or ``"default"``.
    The token and password never appear in ``repr``.
    """

    backend: Literal["http", "local"]
    host: str | None = None
    token: str | None = dataclasses.field(default=None, repr=False)
    username: str | None = None
    password: str | None = dataclasses.field(default=None, repr=False)
    workspace: str | None = None
    teamspace: str | None = None  # where a call that names no teamspace goes
    verify_ssl: bool = True
    ca_file: str | None = None
    timeout: float = DEFAULT_TIMEOUT
    retries: int = DEFAULT_RETRIES
    proxies: Proxies | None = dataclasses.field(default=None, repr=False)
    home: Path | None = None
    profile: str = "default"
    profile_path: Path | None = None
    sources: Mapping[str, str] = dataclasses.field(default_factory=dict)
    # Settings that were given but are not used, and why: shown, never silent.
    ignored: Mapping[str, str] = dataclasses.field(default_factory=dict)

    @property
    def masked_token(self) -> str | None:
        """The token with its secret part hidden, for display."""
        return mask_token(self.token)

    @property
    def proxy(self) -> str | None:
        """The proxy calls to ``host`` go through (``None``: direct), password and all."""
        if self.proxies is None or self.host is None:
            return None
        found = self.proxies.for_url(self.host)
        return None if found is None else found[0]

    def describe(self) -> dict[str, Any]:
        """What a person needs to see: where calls go and why, nothing secret."""
        shown: dict[str, Any] = {"backend": self.backend}
        sources = dict(self.sources)
        if self.backend == "http":
            shown.update(
                host=self.host,
                workspace=self.workspace,
                teamspace=self.teamspace,
                token=self.masked_token,
                username=self.username,
                verify_ssl=self.verify_ssl,
                ca_file=self.ca_file,
                **self._describe_proxy(sources),
            )
        else:
            shown.update(home=str(self.home), workspace=self.workspace, teamspace=self.teamspace)
        shown = {key: value for key, value in shown.items() if value is not None}
        shown["sources"] = {key: sources[key] for key in shown if key in sources}
        if self.ignored:
            shown["ignored"] = dict(self.ignored)
        return shown

    def _describe_proxy(self, sources: dict[str, str]) -> dict[str, str]:
        """The proxy for the host, its password masked, and where it came from."""
        if self.proxies is None or self.host is None:
            return {}
        scheme = self.host.partition("://")[0]
        found = self.proxies.for_url(self.host)
        if found is not None:
            from ._proxy import mask_proxy

            sources["proxy"] = found[1]
            return {"proxy": mask_proxy(found[0])}
        if scheme in self.proxies.by_scheme and self.proxies.no_proxy_source:
            # A proxy is configured, but not for this host: say why.
            sources["proxy"] = f"{self.proxies.no_proxy_source} matches the host"
            return {"proxy": "none"}
        return {}


def mask_token(token: str | None) -> str | None:
    """Hide a token's secret; keep a workspace-bound token's prefix and workspace."""
    if token is None:
        return None
    parts = token.split("-")
    if len(parts) == 3 and parts[1].startswith("ws_"):
        return f"{parts[0]}-{parts[1]}-{MASK}"
    return MASK


def workspace_from_token(token: str | None) -> str | None:
    """The workspace id of a workspace-bound token (``prefix-ws_id-secret``)."""
    if not token:
        return None
    parts = token.split("-")
    if len(parts) == 3 and parts[1].startswith("ws_") and all(parts):
        return parts[1]
    return None


def default_home() -> Path:
    """The user data directory for tilecred on this platform."""
    from pathlib import Path

    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or str(Path.home() / "AppData" / "Local")
        return Path(base) / "tilecred"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / "tilecred"
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "tilecred"


def resolve_home(
    home: str | os.PathLike[str] | None = None, environ: Mapping[str, str] | None = None
) -> Path:
    """The data directory: ``home``, else ``TILECRED_HOME``, else the user data dir.

    An empty ``TILECRED_HOME`` names nothing, so it means the default.
    """
    from pathlib import Path

    env = os.environ if environ is None else environ
    chosen = home if home is not None else env.get("TILECRED_HOME")
    return Path(chosen).expanduser() if chosen else default_home()


def profile_file(environ: Mapping[str, str] | None = None) -> Path:
    """TileDB's profiles file: ``profiles.json`` in ``TILEDB_PROFILE_DIR``, else ``~/.tiledb``.

    An empty ``TILEDB_PROFILE_DIR`` names nothing, so it means the default.
    """
    from pathlib import Path

    env = os.environ if environ is None else environ
    return Path(env.get("TILEDB_PROFILE_DIR") or Path.home() / ".tiledb") / "profiles.json"


def read_profile(path: Path, name: str, *, required: bool) -> dict[str, str]:
    """One profile from a TileDB profiles file; ``{}`` when there is none."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        if required:
            raise ConfigurationError(f"profile {name!r} not found: {path} does not exist") from None
        return {}
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ConfigurationError(f"cannot read profile file {path}: {reason}") from exc
    try:
        # An empty file (made by ``touch``) holds no profiles yet.
        profiles = msgspec.json.decode(raw, type=dict[str, Any]) if raw.strip() else {}
    except msgspec.DecodeError as exc:
        raise ConfigurationError(f"cannot read profile file {path}: {exc}") from exc
    profile = profiles.get(name)
    if profile is None:
        if required:
            raise ConfigurationError(f"profile {name!r} not found in {path}")
        return {}
    if not isinstance(profile, dict) or not all(isinstance(v, str) for v in profile.values()):
        raise ConfigurationError(f"profile {name!r} in {path} must map keys to strings")
    return profile


def normalize_host(host: str) -> str:
    """Add ``https://`` when there is no scheme; drop trailing slashes.

    Raises:
        ConfigurationError: the scheme is not http or https, or there is no host name.
    """
    given = host.strip()
    scheme, _, rest = given.partition("://") if "://" in given else ("https", "", given)
    # Checked before anything else: every other message quotes the host, and
    # "ftp://alice:password@host" would quote the password.
    if "@" in re.split(r"[/?#]", rest, maxsplit=1)[0]:
        raise ConfigurationError("host must not carry user or password; use username and password")
    rest = rest.rstrip("/")
    if scheme.lower() not in ("http", "https") or not rest or rest.startswith("/"):
        raise ConfigurationError(f"host must be an http or https URL, not {_shown(given)}")
    url = f"{scheme}://{rest}"
    from urllib.parse import urlsplit  # here, not at import: ``import tilecred`` stays cheap

    try:
        urlsplit(url).port  # noqa: B018 - raises on a port or address that is not one
    except ValueError as exc:
        raise ConfigurationError(f"host {_shown(given)} is not a valid URL: {exc}") from exc
    return url


def _shown(host: str) -> str:
    """A host as an error message may quote it: not at all if it has an ``@``.

    In a URL too malformed to find its user part ("http:///alice:pw@host"),
    whatever precedes an ``@`` may still be a password.
    """
    return repr(host) if "@" not in host else "the one given (not shown: it has an '@')"


def check_timeout(value: object) -> float:
    """A positive, finite number of seconds."""
    if value is None:
        return DEFAULT_TIMEOUT
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value <= 0
    ):
        raise ConfigurationError(f"timeout must be a positive number of seconds, not {value!r}")
    return float(value)


def check_retries(value: object) -> int:
    """A count of repeated attempts, zero or more (the deadline bounds their time)."""
    if value is None:
        return DEFAULT_RETRIES
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigurationError(f"retries must be an int of at least 0, not {value!r}")
    return value


def _check_token(token: str | None, source: str) -> None:
    # A header cannot carry other characters; say so now, not as an obscure
    # encoding error on the first request. The token itself is never shown;
    # where it came from is, so the right setting gets fixed.
    if token is not None and not (token.isascii() and token.isprintable() and " " not in token):
        raise ConfigurationError(f"token (from {source}) must be printable ASCII without spaces")


def resolve_settings(
    explicit: Mapping[str, Any], environ: Mapping[str, str] | None = None
) -> Settings:
    """Merge explicit arguments, environment, profile and defaults, key by key.

    Raises:
        ConfigurationError: a value is of the wrong kind, or the profile cannot be read.
    """
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    _check_explicit(explicit)

    profile_name = explicit.get("profile")
    # An empty TILEDB_PROFILE_NAME or TILEDB_PROFILE_DIR names nothing, so it
    # means the default, as an unset one does.
    if profile_name is None and env.get("TILEDB_PROFILE_NAME"):
        profile_name = env["TILEDB_PROFILE_NAME"]
    profile_path = profile_file(env)
    profile = read_profile(
        profile_path, profile_name or "default", required=profile_name is not None
    )
    profile_label = f"profile {profile_name or 'default'} in {profile_path}"

    for key, (variable, profile_key) in SOURCES.items():
        if explicit.get(key) is not None:
            values[key], sources[key] = explicit[key], "argument"
        elif variable in env:
            values[key], sources[key] = env[variable], f"environment {variable}"
        elif profile_key is not None and profile_key in profile:
            values[key], sources[key] = profile[profile_key], profile_label

    timeout = check_timeout(explicit.get("timeout"))
    retries = check_retries(explicit.get("retries"))
    if isinstance(values.get("host"), str) and not values["host"].strip():
        values["host"] = ""  # blank counts as set, to nothing
    local = bool(explicit.get("local")) or explicit.get("home") is not None
    remote = any(values.get(key) for key in ("host", "token", "username"))
    teamspace = _default_teamspace(values, sources)
    if local or not remote:
        settings = _local_settings(values, sources, profile_name, timeout, retries)
        why = "local=True" if explicit.get("local") else "home="
        unused: dict[str, str] = {
            key: f"from {sources[key]}: {why} uses the local store"
            for key in ("host", "token", "username")
            if values.get(key) and key in sources
        }
        return dataclasses.replace(settings, teamspace=teamspace, ignored=unused)
    from ._proxy import proxies_from  # only for HTTP: a local store never uses a proxy

    proxies = proxies_from(explicit.get("proxy"), env)
    settings = _http_settings(values, sources, profile_name, profile_path, timeout, retries)
    settings = dataclasses.replace(settings, proxies=proxies, teamspace=teamspace)
    _refuse_login_to_a_forward_proxy(settings)
    return settings


def _default_teamspace(values: dict[str, Any], sources: dict[str, str]) -> str | None:
    """The configured default teamspace; blank (``teamspace=""``) is none."""
    from ._arguments import check_teamspace

    value = values.get("teamspace")
    if not isinstance(value, str) or not value.strip():
        sources.pop("teamspace", None)
        return None
    try:
        return check_teamspace(value)
    except InvalidArgumentError as exc:
        raise ConfigurationError(f"{exc.message} (from {sources['teamspace']})") from exc


def _refuse_login_to_a_forward_proxy(settings: Settings) -> None:
    """A plain-HTTP host reached through a proxy would show the proxy the API token.

    Over https the request travels inside a CONNECT tunnel the proxy cannot
    read; over http the proxy gets the whole request, login headers included.
    """
    from ._proxy import mask_proxy

    proxy = settings.proxy
    host = settings.host or ""
    login = settings.token or settings.username is not None
    if proxy is not None and login and host.lower().startswith("http://"):
        raise ConfigurationError(
            f"host {host} is plain HTTP and would go through proxy {mask_proxy(proxy)}, "
            "which would then see the API token or password: use https://, or add the host "
            "to NO_PROXY (or give proxy='') to reach it directly"
        )


_STRING_ARGUMENTS = (
    "host", "token", "username", "password", "workspace", "teamspace", "ca_file", "profile",
    "proxy",
)  # fmt: skip


def _check_explicit(explicit: Mapping[str, Any]) -> None:
    for key in _STRING_ARGUMENTS:
        value = explicit.get(key)
        if value is not None and not isinstance(value, str):
            # Never the value itself: it may be a token or password.
            raise ConfigurationError(f"{key} must be a str, not {type(value).__name__}")
    verify = explicit.get("verify_ssl")
    if verify is not None and not isinstance(verify, bool | str):
        raise ConfigurationError(f"verify_ssl must be a bool, not {type(verify).__name__}")
    home = explicit.get("home")
    if home is not None and not isinstance(home, str | os.PathLike):
        raise ConfigurationError(f"home must be a str or path, not {type(home).__name__}")


def _check_workspace(workspace: str, sources: dict[str, str]) -> None:
    from ._arguments import check_workspace

    try:
        check_workspace(workspace)
    except InvalidArgumentError as exc:
        raise ConfigurationError(f"{exc.message} (from {sources['workspace']})") from exc


def _local_settings(
    values: dict[str, Any],
    sources: dict[str, str],
    profile_name: str | None,
    timeout: float,
    retries: int,
) -> Settings:
    home = values.get("home") or None
    if home is None:
        sources["home"] = "default"
    workspace = values.get("workspace") or "default"
    if not values.get("workspace"):
        sources["workspace"] = "default"
    _check_workspace(workspace, sources)
    return Settings(
        backend="local",
        # TILECRED_HOME, if set, is in ``values`` already.
        home=resolve_home(home, environ={}),
        workspace=workspace,
        timeout=timeout,
        retries=retries,
        profile=profile_name or "default",
        sources=sources,
    )


def _http_settings(
    values: dict[str, Any],
    sources: dict[str, str],
    profile_name: str | None,
    profile_path: Path,
    timeout: float,
    retries: int,
) -> Settings:
    host = values.get("host")
    if not host:
        host, sources["host"] = DEFAULT_HOST, "default (no host configured)"
    token = values.get("token") or None
    _check_token(token, sources.get("token", "argument"))
    username = values.get("username") or None
    if username is not None and ":" in username:
        # Basic auth joins user and password with ":"; the server would split
        # at the first one and see another user. Not shown: it may hold a password.
        raise ConfigurationError(f"username (from {sources['username']}) must not contain ':'")

    # The workspace: an explicit argument, then a workspace-bound token, then
    # the environment or profile.
    workspace = values.get("workspace") or None
    if sources.get("workspace") != "argument":
        bound = workspace_from_token(token)
        if bound is not None:
            if workspace is not None and workspace != bound:
                ignored = (
                    f"{workspace!r} from {sources['workspace']}: the token is bound to {bound}"
                )
                values["_ignored"] = {"workspace": ignored}
            workspace, sources["workspace"] = bound, sources["token"] + " (bound token)"
    if workspace is not None:
        _check_workspace(workspace, sources)

    verify = values.get("verify_ssl", True)
    if isinstance(verify, str):
        verify = verify.strip().lower() not in _FALSE_WORDS
    ca_file = values.get("ca_file") or None
    if ca_file is not None:
        ca_file = os.path.expanduser(ca_file)
        if not os.path.isfile(ca_file):
            raise ConfigurationError(
                f"ca_file {ca_file!r} (from {sources['ca_file']}) is not a file"
            )
    return Settings(
        backend="http",
        host=normalize_host(host),
        token=token,
        username=username,
        password=values.get("password") or None,
        workspace=workspace,
        verify_ssl=bool(verify),
        ca_file=ca_file,
        timeout=timeout,
        retries=retries,
        profile=profile_name or "default",
        profile_path=profile_path,
        sources=sources,
        ignored=values.get("_ignored", {}),
    )
