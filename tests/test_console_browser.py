"""The web console in a real browser: Debian's headless Chromium, driven by Playwright,
against a real ``tilecred serve`` the tests start on a free 127.0.0.1 port.

``nox -s console`` runs these (marker ``browser``); elsewhere they are
deselected, or skipped when Playwright is missing. Nothing downloads a browser:
Playwright drives the machine's ``/usr/bin/chromium`` (``TILECRED_CHROMIUM``
names another). After each step, no canary secret may be in the page, in any
response the page received, in a URL it asked for, or in the browser's storage.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

if os.environ.get("TILECRED_REQUIRE_BROWSER") != "1":
    pytest.importorskip("playwright.sync_api")

from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from playwright.sync_api import BrowserContext, Page, Playwright, Response, sync_playwright

pytestmark = pytest.mark.browser

CANARY = "C4NARY"
CHROMIUM = os.environ.get("TILECRED_CHROMIUM", "/usr/bin/chromium")
# What Chromium needs in a container as root, and nothing that calls out.
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
HOSTILE = "<img src=x onerror=alert(1)>"
TOKEN_TEXT = re.compile(r"^tc-ws_[0-9a-f]+-[0-9a-f]{64}$")
# Where the screenshots of docs/console.md are written, when asked for.
SHOTS = os.environ.get("TILECRED_CONSOLE_SCREENSHOTS")


@dataclass
class Served:
    """A running ``tilecred serve``: its URL, its admin token and its process."""

    url: str
    port: int
    admin: str
    workspace: str
    process: subprocess.Popen[str]

    def call(self, method: str, path: str, body: Any = None, token: str | None = None) -> Any:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        headers = {"X-TILEDB-REST-API-KEY": token or self.admin}
        data = None if body is None else json.dumps(body).encode()
        if data is not None:
            headers["Content-Type"] = "application/json"
        try:
            conn.request(method, path, body=data, headers=headers)
            reply = conn.getresponse()
            raw = reply.read()
        finally:
            conn.close()
        assert reply.status < 300, (reply.status, raw)
        return json.loads(raw) if raw else None


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    home = tmp_path_factory.mktemp("console-home")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TILEDB_", "TILECRED_"))}
    with subprocess.Popen(
        [sys.executable, "-m", "tilecred._server", "serve", "--home", str(home), "--port", "0",
         "--threads", "4"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env,
    ) as proc:  # fmt: skip
        assert proc.stdout is not None
        try:
            lines = [proc.stdout.readline().rstrip("\n") for _ in range(4)]
            found = re.search(r"; console (http://127\.0\.0\.1:(\d+))/console/$", lines[3])
            assert found, lines
            admin = lines[2].strip()
            workspace = admin.split("-")[1]
            running = Served(found.group(1), int(found.group(2)), admin, workspace, proc)
            teamspace = {"name": "ml", "visibility": "private", "description": "Models"}
            running.call("POST", f"/v4/teamspaces/{workspace}", teamspace)
            yield running
        finally:
            proc.terminate()
            proc.communicate(timeout=30)


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def context(playwright: Playwright, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    profile = tmp_path_factory.mktemp("chromium-profile")  # a fresh user-data-dir
    browser = playwright.chromium.launch_persistent_context(
        str(profile), executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
        viewport={"width": 1180, "height": 760}, service_workers="block",
    )  # fmt: skip
    browser.set_default_timeout(20_000)
    yield browser
    browser.close()


@dataclass
class Tab:
    """A page, and every response it received and URL it asked for."""

    page: Page
    context: BrowserContext
    bodies: dict[str, str] = field(default_factory=dict)
    urls: list[str] = field(default_factory=list)
    alerts: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)

    def clean(self, *secrets: str) -> None:
        """No canary (nor any of ``secrets``) anywhere the page could keep or show it."""
        page = self.page
        places = {
            "html": page.content(),
            "text": page.evaluate("() => document.body.innerText"),
            "inputs": page.evaluate(
                "() => [...document.querySelectorAll('input, textarea, output, select')]"
                ".map((e) => e.value ?? '').join('\\n')"
            ),
            "storage": page.evaluate(
                "() => JSON.stringify([Object.entries(sessionStorage),"
                " Object.entries(localStorage)])"
            ),
            "cookies": json.dumps(self.context.cookies()),
            "urls": "\n".join(self.urls),
        }
        places.update(self.bodies)
        for where, text in places.items():
            # An issued token's text is in the answer that issues it, and nowhere else.
            issuing = re.match(r"response \d+ POST ", where) and re.search(
                r"/tilecred/v1/tokens/[^/]+(/[^/]+/regenerate)?$", where)  # fmt: skip
            for secret in (CANARY, *secrets):
                if issuing and secret != CANARY:
                    continue
                assert secret not in text, f"{secret!r} found in {where}"
        assert self.alerts == []
        assert self.errors == []
        assert self.violations == []
        assert unlabelled(self.page) == []

    def shot(self, name: str) -> None:
        if SHOTS:
            self.page.screenshot(path=str(Path(SHOTS) / f"{name}.png"))


def open_tab(context: Any, served: Served, width: int = 1180) -> Tab:
    page = context.new_page()
    page.set_viewport_size({"width": width, "height": 760})
    tab = Tab(page, context)

    def on_response(response: Response) -> None:
        # Read as it arrives: a body is gone once the page moves on.
        if 300 <= response.status < 400 or page.is_closed():
            return
        where = f"response {len(tab.bodies)} {response.request.method} {response.url}"
        tab.bodies[where] = response.body().decode("utf-8", "replace")

    page.on("response", on_response)
    page.on("request", lambda request: tab.urls.append(request.url))
    page.on("pageerror", lambda error: tab.errors.append(str(error)))

    def on_console(message: Any) -> None:
        # The browser reports what the Content-Security-Policy blocked here.
        if "Content Security Policy" in message.text:
            tab.violations.append(message.text)

    page.on("console", on_console)

    def on_dialog(dialog: Any) -> None:
        tab.alerts.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.goto(f"{served.url}/console/")
    return tab


def unlabelled(page: Page) -> list[str]:
    """The visible form controls with no label a screen reader could read."""
    found: list[str] = page.evaluate(
        """() => [...document.querySelectorAll("input, select, textarea")]
             .filter((e) => e.offsetParent !== null && e.labels.length === 0
                            && !e.getAttribute("aria-label"))
             .map((e) => e.outerHTML)"""
    )
    return found


def sign_in(tab: Tab, token: str) -> None:
    page = tab.page
    page.fill("#sign-in-token", token)
    page.click("#sign-in-form button[type=submit]")
    page.wait_for_selector("#credentials:not([hidden])")
    assert page.input_value("#sign-in-token") == ""
    page.wait_for_selector("#credential-caption:has-text('credentials in')")


def row(page: Page, name: str) -> Any:
    return page.locator("#credential-table tbody tr", has=page.get_by_role("button",
                        name=f"Details of {name}", exact=True))  # fmt: skip


def details(page: Page, name: str) -> Any:
    row(page, name).get_by_role("button").click()
    dialog = page.locator("dialog[open]")
    dialog.get_by_text("Kind").first.wait_for()
    return dialog


def close(page: Page) -> None:
    page.keyboard.press("Escape")
    page.locator("dialog").wait_for(state="detached")


def snowflake_key() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()).decode()


# provider, kind label, fields, secrets (a file's path for a key file)
def providers(
    key_file: Path, known: list[str]
) -> list[tuple[str, str, dict[str, str], dict[str, str]]]:
    """One credential of each provider the server knows (``known``)."""
    made = [
        ("AWS", "AWS access key", {"access_key_id": "AKIAIOSFODNN7EXAMPLE"},
         {"secret_access_key": f"wJalrXUtnFEMI-{CANARY}-aws"}),
        ("AZURE", "Azure storage account key", {"account_name": "lakeacct"},
         {"account_key": f"azkey-{CANARY}-azure"}),
        ("GCP", "GCP HMAC key", {"access_key_id": "GOOG1EXAMPLEKEY"},
         {"secret_access_key": f"hmac-{CANARY}-gcp"}),
        ("SNOWFLAKE", "Snowflake key pair", {"account": "xy12345", "user": "loader"},
         {"private_key_raw": str(key_file)}),
        ("DATABRICKS", "Databricks service principal",
         {"host": "https://dbc-1234.cloud.databricks.com", "client_id": "sp-client"},
         {"client_secret": f"dbx-{CANARY}-databricks"}),
        ("GENERIC", "Bearer token", {"url": "https://api.example.com"},
         {"token": f"bearer-{CANARY}-generic"}),
    ]  # fmt: skip
    return [entry for entry in made if entry[0] in known]


def create(tab: Tab, name: str, provider: str, kind: str, fields: dict[str, str],
           secrets: dict[str, str]) -> None:  # fmt: skip
    page = tab.page
    page.click("#new-credential")
    dialog = page.locator("dialog[open]")
    dialog.locator("input[name=name]").fill(name)
    dialog.get_by_label("Provider", exact=True).select_option(provider)
    dialog.get_by_label("Kind", exact=True).select_option(label=kind)
    for key, value in fields.items():
        dialog.locator(f"input[name={key}]").fill(value)
    for key, value in secrets.items():
        secret = dialog.locator(f"input[name={key}]")
        if secret.get_attribute("type") == "file":
            secret.set_input_files(value)
        else:
            assert secret.get_attribute("type") == "password"
            secret.fill(value)
    tab.shot("create")
    assert unlabelled(page) == []
    dialog.get_by_role("button", name="Create").click()
    dialog.wait_for(state="detached")
    row(page, name).wait_for()


def test_credentials_from_create_to_delete(context: Any, served: Served, tmp_path: Path) -> None:
    key_file = tmp_path / "snowflake.p8"
    key_text = snowflake_key()
    key_file.write_text(key_text)
    key_body = key_text.splitlines()[5]  # a line from the middle of the key
    tab = open_tab(context, served)
    page = tab.page
    tab.shot("sign-in")
    sign_in(tab, served.admin)
    tab.clean(key_body)

    known = served.call("GET", "/openapi.json")["components"]["schemas"]["CloudProvider"]["enum"]
    made = providers(key_file, known)
    assert len(made) >= 5
    for provider, kind, fields, secrets in made:
        create(tab, f"{provider.lower()}-one", provider, kind, fields, secrets)
        tab.clean(key_body)
    listed = page.locator("#credential-table tbody th").all_inner_texts()
    assert listed == sorted(f"{provider.lower()}-one" for provider, *_ in made)
    assert row(page, "gcp-one").locator("td").all_inner_texts()[:5] == [
        "GCP", "GCP HMAC key", "no", "no", "active"]  # fmt: skip
    tab.shot("credentials")

    # Filter by provider (on the server) and search by name (in the page).
    page.get_by_label("Provider", exact=True).select_option("AZURE")
    page.wait_for_selector("#credential-caption:text('1 of 1 credentials in the workspace')")
    page.get_by_label("Provider", exact=True).select_option("")
    page.wait_for_selector(f"#credential-caption:text('{len(made)} of {len(made)} credentials')")
    page.get_by_label("Name", exact=True).fill("SNOW")
    assert page.locator("#credential-table tbody th").all_inner_texts() == ["snowflake-one"]
    page.get_by_label("Name", exact=True).fill("")

    # Details: a secret is never shown; verify; rename.
    dialog = details(page, "aws-one")
    assert dialog.get_by_text("stored; never shown").count() == 1
    dialog.get_by_role("button", name="Verify").click()
    dialog.get_by_text("Verification: verified").wait_for()
    tab.shot("details")
    dialog.get_by_role("button", name="Edit").click()
    dialog.get_by_label("Name").fill("aws-renamed")
    dialog.get_by_role("button", name="Save").click()
    page.get_by_role("heading", name="Credential aws-renamed").wait_for()

    # Replace the secret: verified first, then stored; the new one shows nowhere either.
    dialog.get_by_role("button", name="Replace secret").click()
    dialog.locator("input[name=secret_access_key]").fill(f"new-{CANARY}-aws")
    dialog.get_by_role("button", name="Verify and replace").click()
    page.locator("#status", has_text="Replaced the secret of aws-renamed.").wait_for()
    assert [where.split()[2] for where in tab.bodies if "/verify" in where][-1:] == ["POST"]

    # Deactivate; who uses it.
    dialog.get_by_role("button", name="Deactivate").click()
    dialog.locator("dd", has_text="inactive").wait_for()
    dialog.get_by_role("button", name="Who uses it").click()
    dialog.get_by_role("table", name="Who uses aws-renamed").wait_for()
    tab.shot("usage")
    close(page)
    row(page, "aws-renamed").locator("td.off", has_text="inactive").wait_for()
    assert row(page, "aws-one").count() == 0
    tab.clean(key_body)

    # Delete with a typed confirmation.
    dialog = details(page, "azure-one")
    dialog.get_by_role("button", name="Delete").click()
    confirm = page.get_by_role("dialog", name="Delete azure-one?")
    button = confirm.get_by_role("button", name="Delete")
    assert button.is_disabled()
    confirm.get_by_label("Name").fill("azure-on")
    assert button.is_disabled()
    confirm.get_by_label("Name").fill("azure-one")
    tab.shot("delete")
    button.click()
    page.locator("dialog").first.wait_for(state="detached")
    left = len(made) - 1
    page.wait_for_selector(f"#credential-caption:text('{left} of {left} credentials')")
    assert row(page, "azure-one").count() == 0

    # The audit log: filtered by action.
    page.get_by_role("link", name="Audit log").click()
    page.wait_for_selector("#audit-caption:has-text('audit records')")
    page.get_by_label("Action").select_option("delete")
    cells = page.locator("#audit-table tbody tr").first.locator("td").all_inner_texts()
    assert cells[2:5] == ["delete", "ok", "azure-one"]
    page.get_by_label("Action").select_option("")
    tab.shot("audit")
    tab.clean(key_body)

    # Sign out forgets the token.
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_selector("#sign-in:not([hidden])")
    assert page.evaluate("() => sessionStorage.length") == 0
    assert served.admin not in page.content()
    tab.clean(key_body)


def test_a_task_token_is_shown_once_and_the_lockout_rule_in_words(
    context: Any, served: Served
) -> None:
    tab = open_tab(context, served)
    page = tab.page
    sign_in(tab, served.admin)
    page.get_by_role("link", name="API tokens").click()
    page.locator("#token-table tbody tr").first.wait_for()

    # The only read-write management token cannot be deactivated.
    page.get_by_role("button", name="Deactivate admin").click()
    page.locator("#alert", has_text="last active read-write token that manages it").wait_for()
    assert "no one able to manage the workspace" in page.inner_text("#alert")
    tab.shot("lockout")

    page.click("#new-token")
    dialog = page.locator("dialog[open]")
    dialog.get_by_label("Name", exact=True).fill("nightly")
    dialog.get_by_label("Kind").select_option("task")
    dialog.get_by_label("Teamspace").select_option(label="ml")
    # Named credentials of the teamspace, else of the workspace level; one not made yet.
    dialog.get_by_label("Credentials").fill("gcp-one, snowflake-one, later")
    dialog.get_by_label("Allow names with no credential yet").check()
    dialog.get_by_label("Expires after").select_option(label="8 hours")
    tab.shot("token-new")
    assert unlabelled(page) == []
    dialog.get_by_role("button", name="Create token").click()
    shown = page.locator("#issued-token")
    shown.wait_for()
    text = shown.inner_text()
    assert TOKEN_TEXT.match(text)
    page.get_by_role("button", name="Copy").click()
    tab.shot("token-once")
    close(page)
    nightly = page.locator("#token-table tbody tr", has_text="nightly")
    nightly.wait_for()
    cells = nightly.locator("td").all_inner_texts()
    assert cells[1:3] == ["task", "teamspace ml; credentials gcp-one, snowflake-one, later"]
    assert cells[5] == "active"
    tab.shot("tokens")
    # Shown once: gone from the page, its storage and every later answer.
    tab.clean(text)

    # Regenerate: a new text, shown once; the old one no longer works.
    page.get_by_role("button", name="Regenerate nightly").click()
    regenerate = page.get_by_role("dialog", name="Regenerate?")
    regenerate.get_by_role("button", name="Regenerate").click()
    shown.wait_for()
    again = shown.inner_text()
    assert TOKEN_TEXT.match(again)
    assert again != text
    close(page)
    page.get_by_role("button", name="Revoke nightly").click()
    page.get_by_role("dialog", name="Revoke?").get_by_role("button", name="Revoke").click()
    page.locator("#token-table tbody tr", has_text="nightly").locator(
        "td", has_text="revoked").wait_for()  # fmt: skip
    tab.clean(text, again)


def test_hostile_names_are_shown_as_text(context: Any, served: Served) -> None:
    served.call("POST", f"/v4/credentials/{served.workspace}",
                {"name": HOSTILE, "provider": "AWS",
                 "role": {"aws": {"role_arn": "arn:aws:iam::123456789012:role/x"}}})  # fmt: skip
    served.call("POST", f"/tilecred/v1/tokens/{served.workspace}",
                {"name": "<b>bold</b>", "kind": "management", "read_only": True})  # fmt: skip
    tab = open_tab(context, served)
    page = tab.page
    sign_in(tab, served.admin)
    row(page, HOSTILE).wait_for()
    assert row(page, HOSTILE).locator("th").inner_text() == HOSTILE
    assert page.locator("#credential-table img, #credential-table b").count() == 0
    dialog = details(page, HOSTILE)
    assert page.get_by_role("heading", name=f"Credential {HOSTILE}").count() == 1
    close(page)
    # An error from the server naming it is text too.
    create(tab, "dup-check", "AWS", "AWS IAM role",
           {"role_arn": "arn:aws:iam::123456789012:role/y"}, {})  # fmt: skip
    page.click("#new-credential")
    dialog = page.locator("dialog[open]")
    dialog.locator("input[name=name]").fill(HOSTILE)
    dialog.get_by_label("Kind", exact=True).select_option(label="AWS IAM role")
    dialog.locator("input[name=role_arn]").fill("arn:aws:iam::123456789012:role/z")
    dialog.get_by_role("button", name="Create").click()
    page.locator("#alert", has_text=f"Could not create credential {HOSTILE}.").wait_for()
    close(page)
    page.get_by_role("link", name="API tokens").click()
    page.locator("#token-table tbody th", has_text="<b>bold</b>").wait_for()
    assert page.locator("#token-table b, img").count() == 0
    assert tab.alerts == []
    tab.clean()


def test_a_read_only_token_sees_no_buttons_it_cannot_use(context: Any, served: Served) -> None:
    issued = served.call("POST", f"/tilecred/v1/tokens/{served.workspace}",
                         {"name": "viewer", "kind": "management", "read_only": True})  # fmt: skip
    served.call("POST", f"/v4/credentials/{served.workspace}",
                {"name": "seen", "provider": "AWS",
                 "role": {"aws": {"role_arn": "arn:aws:iam::123456789012:role/s"}}})  # fmt: skip
    tab = open_tab(context, served, width=390)  # a phone's width
    page = tab.page
    sign_in(tab, issued["data"]["token"])
    assert "read-only token" in page.inner_text("#who")
    assert page.locator("#new-credential").is_hidden()
    tab.shot("read-only-phone")
    dialog = details(page, "seen")
    shown = dialog.locator(".actions button").all_inner_texts()
    assert shown == ["Verify", "Who uses it"]
    close(page)
    page.get_by_role("link", name="API tokens").click()
    page.locator("#token-table tbody tr", has_text="viewer").wait_for()
    assert page.locator("#new-token").is_hidden()
    assert page.locator("#token-table tbody button").count() == 0
    # The API refuses anyway: the same token, from the page, on a write.
    status = page.evaluate(
        """async (ws) => (await fetch(`/v4/credentials/${ws}`, { method: "POST",
             headers: { "Content-Type": "application/json",
                        "X-TILEDB-REST-API-KEY": sessionStorage.getItem("tilecred-console-token") },
             body: JSON.stringify({ name: "x", provider: "AWS",
               role: { aws: { role_arn: "arn:aws:iam::123456789012:role/x" } } }) })).status""",
        served.workspace,
    )
    assert status == 403
    tab.clean()


def test_a_task_token_sees_the_credentials_only(context: Any, served: Served) -> None:
    issued = served.call("POST", f"/tilecred/v1/tokens/{served.workspace}",
                         {"name": "runner", "kind": "task"})  # fmt: skip
    tab = open_tab(context, served)
    page = tab.page
    sign_in(tab, issued["data"]["token"])
    assert "task token" in page.inner_text("#who")
    visible = [link for link in page.locator("#nav a").all() if link.is_visible()]
    assert [link.inner_text() for link in visible] == ["Credentials"]
    assert page.locator("#new-credential").is_hidden()
    dialog = details(page, "seen")
    assert dialog.locator(".actions button").count() == 0
    close(page)
    tab.clean()


def test_a_wrong_token_is_refused_in_words(context: Any, served: Served) -> None:
    tab = open_tab(context, served)
    page = tab.page
    page.fill("#sign-in-token", "not-a-token")
    page.click("#sign-in-form button[type=submit]")
    page.locator("#alert", has_text="That is not an API token.").wait_for()
    page.fill("#sign-in-token", f"tc-{served.workspace}-{'0' * 64}")
    page.click("#sign-in-form button[type=submit]")
    page.locator("#alert", has_text="The server does not accept this token.").wait_for()
    assert page.evaluate("() => sessionStorage.length") == 0
    tab.clean()


def test_keyboard_alone_signs_in_and_opens_a_credential(context: Any, served: Served) -> None:
    tab = open_tab(context, served)
    page = tab.page
    page.wait_for_function("() => document.activeElement.id === 'sign-in-token'")
    page.keyboard.type(served.admin)
    page.keyboard.press("Enter")
    page.wait_for_selector("#credential-caption:has-text('credentials in')")
    for _ in range(60):
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement.getAttribute('aria-label')") == (
            "Details of seen"
        ):
            break
    else:
        pytest.fail("Tab never reached the credential's details button")
    page.keyboard.press("Enter")
    page.get_by_role("dialog", name="Credential seen").wait_for()
    assert page.evaluate("() => document.activeElement.closest('dialog') !== null")
    page.keyboard.press("Escape")
    page.locator("dialog").wait_for(state="detached")
    assert page.evaluate("() => document.activeElement.getAttribute('aria-label')") == (
        "Details of seen"
    )
    tab.clean()


def test_a_token_revoked_while_signed_in_signs_the_page_out(context: Any, served: Served) -> None:
    issued = served.call("POST", f"/tilecred/v1/tokens/{served.workspace}",
                         {"name": "short-lived", "kind": "management"})["data"]  # fmt: skip
    tab = open_tab(context, served)
    page = tab.page
    sign_in(tab, issued["token"])
    served.call("DELETE", f"/tilecred/v1/tokens/{served.workspace}/{issued['token_id']}")
    page.get_by_label("Provider", exact=True).select_option("AWS")
    page.wait_for_selector("#sign-in:not([hidden])")
    page.locator("#alert", has_text="The server no longer accepts this token").wait_for()
    assert page.evaluate("() => sessionStorage.length") == 0
    tab.clean(issued["token"])


def test_paging_through_more_than_a_server_page(context: Any, served: Served) -> None:
    # 1,050 credentials: two pages of the API (1,000 at most each), 21 of the console's.
    conn = http.client.HTTPConnection("127.0.0.1", served.port, timeout=30)
    headers = {"X-TILEDB-REST-API-KEY": served.admin, "Content-Type": "application/json"}
    role = {"aws": {"role_arn": "arn:aws:iam::123456789012:role/bulk"}}
    try:
        for number in range(1050):
            body = {"name": f"bulk-{number:04d}", "provider": "AWS", "role": role}
            conn.request("POST", f"/v4/credentials/{served.workspace}", json.dumps(body), headers)
            reply = conn.getresponse()
            assert reply.status == 201, reply.read()
            reply.read()
    finally:
        conn.close()
    tab = open_tab(context, served)
    page = tab.page
    sign_in(tab, served.admin)
    page.get_by_label("Name", exact=True).fill("bulk-")
    page.wait_for_selector("#page-text:text('Page 1 of 21')")
    assert page.locator("#credential-caption").inner_text().startswith("1050 of ")
    for _ in range(20):
        page.get_by_role("button", name="Next page").click()
    page.wait_for_selector("#page-text:text('Page 21 of 21')")
    assert page.locator("#credential-table tbody th").all_inner_texts() == [
        f"bulk-{number:04d}" for number in range(1000, 1050)
    ]
    assert page.get_by_role("button", name="Next page").is_disabled()
    # Sorted the other way by name (one more click on its header), from page 1: the last first.
    page.get_by_role("button", name="Name", exact=True).click()
    assert page.locator("th[aria-sort=descending]").inner_text().startswith("Name")
    page.wait_for_selector("#page-text:text('Page 1 of 21')")
    assert page.locator("#credential-table tbody th").first.inner_text() == "bulk-1049"
    tab.clean()


def test_a_management_token_sees_what_only_an_admin_token_may_do_withheld(
    context: Any, served: Served
) -> None:
    issued = served.call("POST", f"/tilecred/v1/tokens/{served.workspace}",
                         {"name": "manager", "kind": "management"})["data"]  # fmt: skip
    served.call("POST", f"/v4/credentials/{served.workspace}",
                {"name": "for-tasks", "provider": "AWS", "allowed_in_tasks": True,
                 "credential": {"aws": {"access_key_id": "AKIAIOSFODNN7EXAMPLE",
                                        "secret_access_key": f"k-{CANARY}"}}})  # fmt: skip
    tab = open_tab(context, served)
    page = tab.page
    sign_in(tab, issued["token"])
    assert "manager (management token)" in page.inner_text("#who")
    # Allowing in tasks, and changing the secret of a credential that is, are an admin's.
    page.click("#new-credential")
    assert page.locator("dialog[open] input[name=allowed_in_tasks]").count() == 0
    close(page)
    page.get_by_label("Name", exact=True).fill("for-tasks")
    dialog = details(page, "for-tasks")
    assert dialog.locator(".actions button").all_inner_texts() == [
        "Verify", "Edit", "Make default", "Disallow in tasks", "Deactivate", "Who uses it",
        "Delete"]  # fmt: skip
    close(page)
    # Task tokens, and switching other tokens, are an admin's too.
    page.get_by_role("link", name="API tokens").click()
    page.locator("#token-table tbody tr", has_text="manager").wait_for()
    page.click("#new-token")
    kinds = page.locator("dialog[open] select[name=kind] option").all_inner_texts()
    assert kinds == ["management", "read-only management"]
    close(page)
    admin_row = page.locator("#token-table tbody tr").first
    assert admin_row.locator("button").all_inner_texts() == ["Rename"]
    mine = page.locator("#token-table tbody tr", has_text="(you)")
    assert mine.locator("button").all_inner_texts() == [
        "Rename", "Deactivate", "Regenerate", "Revoke"]  # fmt: skip
    # The API refuses anyway.
    status = page.evaluate(
        """async (ws) => (await fetch(`/tilecred/v1/tokens/${ws}`, { method: "POST",
             headers: { "Content-Type": "application/json",
                        "X-TILEDB-REST-API-KEY": sessionStorage.getItem("tilecred-console-token") },
             body: JSON.stringify({ name: "t", kind: "task" }) })).status""",
        served.workspace,
    )
    assert status == 403
    tab.clean()


def test_a_description_is_written_shown_and_edited_as_text(context: Any, served: Served) -> None:
    schemas = served.call("GET", "/openapi.json")["components"]["schemas"]
    if "description" not in schemas["CredentialCreateRequest"]["properties"]:
        pytest.skip("this server's credentials have no description")
    tab = open_tab(context, served)
    page = tab.page
    sign_in(tab, served.admin)
    page.click("#new-credential")
    dialog = page.locator("dialog[open]")
    dialog.locator("input[name=name]").fill("described")
    dialog.get_by_label("Kind", exact=True).select_option(label="AWS IAM role")
    dialog.locator("input[name=role_arn]").fill("arn:aws:iam::123456789012:role/d")
    dialog.get_by_label("Description").fill(f"{HOSTILE} nightly loads")
    dialog.get_by_role("button", name="Create").click()
    page.get_by_label("Name", exact=True).fill("described")
    described = row(page, "described")
    described.wait_for()
    assert described.locator("td").last.inner_text() == f"{HOSTILE} nightly loads"
    dialog = details(page, "described")
    dialog.get_by_role("button", name="Edit").click()
    dialog.get_by_label("Description").fill("weekly loads")
    dialog.get_by_role("button", name="Save").click()
    dialog.locator("dd", has_text="weekly loads").wait_for()
    close(page)
    described.locator("td", has_text="weekly loads").wait_for()
    assert described.locator("td").last.inner_text() == "weekly loads"
    assert page.locator("#credential-table img").count() == 0
    tab.clean()


def test_a_teamspace_has_its_own_credentials(context: Any, served: Served) -> None:
    tab = open_tab(context, served)
    page = tab.page
    sign_in(tab, served.admin)
    page.get_by_label("Scope").select_option(label="Teamspace ml")
    page.wait_for_selector("#credential-caption:text('in teamspace ml')")
    create(tab, "ml-only", "AWS", "AWS IAM role", {"role_arn": "arn:aws:iam::123456789012:role/m"},
           {})  # fmt: skip
    assert page.locator("#credential-table tbody th").all_inner_texts() == ["ml-only"]
    dialog = details(page, "ml-only")
    assert dialog.locator("dd", has_text="teamspace ml").count() == 1
    close(page)
    ml = served.call("GET", f"/v4/teamspaces/{served.workspace}/ml")["data"]["teamspace_id"]
    listed = served.call("GET", f"/v4/credentials/{served.workspace}?teamspace_id={ml}")
    assert [item["name"] for item in listed["data"]] == ["ml-only"]
    page.get_by_label("Scope").select_option(label="Workspace default")
    page.get_by_label("Name", exact=True).fill("ml-only")
    page.wait_for_selector("#credential-caption:text('0 of')")
    tab.clean()
