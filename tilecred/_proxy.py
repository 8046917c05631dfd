"""Which proxy a request goes through, and which hosts go direct.

The ``proxy`` setting, else the environment variables curl, requests and httpx
read: ``https_proxy``/``HTTPS_PROXY`` for https URLs, ``http_proxy``/
``HTTP_PROXY`` for http URLs, ``all_proxy``/``ALL_PROXY`` for either, and
``no_proxy``/``NO_PROXY`` for the hosts that go direct. The rules are written
out in docs/configuration.md; this module is imported only when an HTTP
configuration is resolved, so ``import tilecred`` stays cheap.
"""

from __future__ import annotations

import dataclasses
import ipaddress
from collections.abc import Mapping
from urllib.parse import unquote, urlsplit

from ._errors import MASK, ConfigurationError

__all__ = ["Proxies", "basic_proxy_auth", "mask_proxy", "proxies_from", "without_userinfo"]

_DEFAULT_PORTS = {"http": 80, "https": 443}
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclasses.dataclass(frozen=True)
class Proxies:
    """Proxy URLs by the scheme of the URL requested, and the hosts that go direct.

    ``by_scheme`` maps ``"http"``/``"https"`` to ``(proxy URL, where it came
    from)``; a scheme missing from it goes direct. Never shown whole: a proxy
    URL may carry a password.
    """

    by_scheme: Mapping[str, tuple[str, str]] = dataclasses.field(default_factory=dict)
    no_proxy: tuple[str, ...] = ()
    no_proxy_source: str | None = None

    def __repr__(self) -> str:
        shown = {scheme: mask_proxy(url) for scheme, (url, _) in self.by_scheme.items()}
        return f"Proxies({shown}, no_proxy={self.no_proxy!r})"

    def secrets(self) -> list[str]:
        """Every proxy password, as given and decoded: scrubbed from errors."""
        found = []
        for url, _ in self.by_scheme.values():
            password = urlsplit(url).password
            if password:
                found += [password, unquote(password)]
        return found

    def for_url(self, url: str) -> tuple[str, str] | None:
        """``(proxy URL, source)`` for a request to ``url``, or ``None`` to go direct."""
        split = urlsplit(url)
        scheme = split.scheme.lower()
        found = self.by_scheme.get(scheme)
        if found is None or not self.no_proxy:
            return found
        host = (split.hostname or "").lower()
        try:
            port = split.port or _DEFAULT_PORTS.get(scheme)
        except ValueError:
            port = None
        if any(_bypasses(entry, scheme, host, port) for entry in self.no_proxy):
            return None
        return found


def proxies_from(explicit: str | None, env: Mapping[str, str]) -> Proxies:
    """The proxies for an HTTP client: ``proxy=`` if given, else the environment.

    An explicit ``proxy`` is used for every request and the environment is not
    read (as httpx does); ``proxy=""`` turns proxies off.

    Raises:
        ConfigurationError: a proxy URL is not an http or https URL with a host.
    """
    if explicit is not None:
        if not explicit.strip():
            return Proxies()
        url = check_proxy(explicit, "argument")
        return Proxies({"http": (url, "argument"), "https": (url, "argument")})
    by_scheme: dict[str, tuple[str, str]] = {}
    for scheme in ("http", "https"):
        # Behind CGI, HTTP_PROXY may come from a request's "Proxy:" header
        # (httpoxy): only the lower-case name is trusted there.
        upper = not (scheme == "http" and "REQUEST_METHOD" in env)
        found = _variable(env, f"{scheme}_proxy", upper=upper) or _variable(env, "all_proxy")
        if found is not None:
            value, name = found
            source = f"environment {name}"
            by_scheme[scheme] = (check_proxy(value, source), source)
    no_proxy: tuple[str, ...] = ()
    no_proxy_source = None
    found = _variable(env, "no_proxy")
    if found is not None and by_scheme:
        value, name = found
        no_proxy = tuple(e.strip().lower() for e in value.split(",") if e.strip())
        no_proxy_source = f"environment {name}"
    return Proxies(by_scheme, no_proxy, no_proxy_source)


def _variable(env: Mapping[str, str], lower: str, *, upper: bool = True) -> tuple[str, str] | None:
    """A variable's value and name: the lower-case name first; empty counts as unset."""
    for name in (lower, lower.upper()) if upper else (lower,):
        value = env.get(name, "").strip()
        if value:
            return value, name
    return None


def check_proxy(value: str, source: str) -> str:
    """A proxy URL with its scheme (``http://`` when none), without a trailing ``/``."""
    url = value.strip().rstrip("/")
    if "://" not in url:
        url = "http://" + url
    scheme = url.partition("://")[0].lower()
    shown = mask_proxy(url)
    if scheme not in _DEFAULT_PORTS:
        raise ConfigurationError(
            f"proxy {shown} (from {source}) must be an http or https URL; "
            f"{scheme} proxies are not supported"
        )
    split = urlsplit(url)
    try:
        split.port  # noqa: B018 - raises on a port that is not one
    except ValueError as exc:
        raise ConfigurationError(f"proxy {shown} (from {source}) is not a valid URL") from exc
    if not split.hostname or split.path or split.query or split.fragment:
        raise ConfigurationError(
            f"proxy {shown} (from {source}) must be scheme://[user:password@]host[:port]"
        )
    return url


def mask_proxy(url: str) -> str:
    """A proxy URL fit to show: any password replaced by ``***``."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        scheme, rest = "", url
    netloc, slash, tail = rest.partition("/")
    userinfo, at, hostport = netloc.rpartition("@")
    if not at:
        return url
    user, colon, _ = userinfo.partition(":")
    masked = f"{user}:{MASK}" if colon else user
    return f"{scheme}{sep}{masked}@{hostport}{slash}{tail}"


def without_userinfo(url: str) -> str:
    """A proxy URL without its user and password: what urllib3 connects to."""
    split = urlsplit(url)
    netloc = split.netloc.rpartition("@")[2]
    return f"{split.scheme}://{netloc}"


def basic_proxy_auth(url: str) -> str | None:
    """The ``Proxy-Authorization`` value for a proxy URL's user and password, if any."""
    split = urlsplit(url)
    if split.username is None:
        return None
    import base64  # only when a proxy has credentials

    pair = f"{unquote(split.username)}:{unquote(split.password or '')}".encode()
    return "Basic " + base64.b64encode(pair).decode("ascii")


def _bypasses(entry: str, scheme: str, host: str, port: int | None) -> bool:
    """Whether one ``no_proxy`` entry sends a request to ``host:port`` direct."""
    if entry == "*":
        return True
    if "://" in entry:
        # httpx's form, "http://127.0.0.1": only for URLs of that scheme.
        entry_scheme, _, entry = entry.partition("://")
        if entry_scheme != scheme:
            return False
        entry = entry.rstrip("/")
    network = _network(entry)
    if network is None:
        name, _, entry_port = entry.rpartition(":")
        if name and entry_port.isdigit() and not name.endswith(":"):
            if int(entry_port) != port:
                return False
            entry = name
            network = _network(entry)
    if network is not None:
        try:
            return ipaddress.ip_address(host) in network
        except ValueError:
            return False  # a name is never matched by an address
    # A name matches itself and every name below it, at a dot: "example.com"
    # matches "api.example.com" but not "notexample.com" (curl's rule).
    name = entry.lstrip("*").lstrip(".")
    return bool(name) and (host == name or host.endswith("." + name))


def _network(text: str) -> IPNetwork | None:
    """An address or CIDR block, or ``None`` for a name."""
    try:
        return ipaddress.ip_network(text.strip("[]"), strict=False)
    except ValueError:
        return None
