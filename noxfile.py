"""Sessions: tests, services, postgres, lint, typecheck, docs, tiledb_client,
schemathesis, console; bench."""

from __future__ import annotations

import nox

nox.options.sessions = [
    "tests",
    "services",
    "postgres",
    "lint",
    "typecheck",
    "docs",
    "tiledb_client",
    "schemathesis",
    "console",
    "airflow",
    "prefect",
    "dagster",
]
nox.options.reuse_existing_virtualenvs = True
# Sessions run on the interpreter that runs nox (CI: the machine's Python 3.11).


# The task runners' tests, each in a session of its own with the runner pinned
# to the range tilecred is tested with.
RUNNERS = "(airflow or prefect or dagster)"


@nox.session
def tests(session: nox.Session) -> None:
    """The test suite against real HTTP servers and real SQLite files."""
    session.install("-e", ".[tests]")
    marks = f"not services and not postgres and not browser and not {RUNNERS}"
    # One worker a core (pytest-xdist); `nox -s tests -- -n 0` runs them in one process.
    session.run("pytest", "-n", "auto", "-m", marks, *session.posargs)


# What the real-service tests run against, and the clients they use: never
# a dependency of tilecred itself. s3fs's boto3 extra keeps boto3 within the
# botocore range aiobotocore takes, which spares pip a long backtrack.
SERVICE_PACKAGES = [
    "moto[server]>=5",
    "s3fs[boto3]>=2024.3",
    "tiledb>=0.30",
    "adlfs>=2024.4",
    "azure-storage-blob>=12.19",
    "google-auth>=2.20",
]


@nox.session
def services(session: nox.Session) -> None:
    """Forms against real services: moto (S3, STS, IAM) and Azurite, with boto3,
    s3fs, adlfs, TileDB-Py and google-auth. Azurite needs node; CI installs it
    (.ci/run)."""
    session.install("-e", ".[tests,aws]", *SERVICE_PACKAGES)
    session.run("pytest", "-m", "services", *session.posargs)


@nox.session
def postgres(session: nox.Session) -> None:
    """The store and the server on a real PostgreSQL cluster the tests start
    (tests/_postgres.py: initdb and pg_ctl from the machine, as an unprivileged
    user under root). CI installs Debian's postgresql package (.ci/run)."""
    session.install("-e", ".[tests,postgres]")
    session.run("pytest", "-m", "postgres", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff check and ruff format --check."""
    session.install("ruff>=0.6")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy --strict over the package and the tests."""
    # The postgres extra too: psycopg's types check the PostgreSQL engine and its tests.
    session.install("-e", ".[tests,postgres]", "mypy>=1.11")
    session.run("mypy", "--strict", "tilecred", "tests")


@nox.session
def docs(session: nox.Session) -> None:
    """Build the documentation site into site/; warnings are errors."""
    session.install("-e", ".[docs]")
    # Into site/ at the top of the checkout (git ignores it): open site/index.html.
    session.run(
        "mkdocs", "build", "--strict", "--site-dir", "site", env={"NO_MKDOCS_2_WARNING": "1"}
    )  # fmt: skip


# TileDB's own client, pinned: the version the compatibility claim is made for.
TILEDB_CLIENT = "tiledb-client==3.0b12"


@nox.session
def tiledb_client(session: nox.Session) -> None:
    """TileDB's own Python client against ``tilecred serve``: tests/test_server_tiledb.py.

    tiledb-client (and the TileDB library it pulls in) is large, so it is not
    in the ``tests`` extra; here it is installed, and the test fails rather
    than skips when it cannot be imported.
    """
    session.install("-e", ".[tests]", TILEDB_CLIENT)
    session.run(
        "pytest", "tests/test_server_tiledb.py", *session.posargs,
        env={"TILECRED_REQUIRE_TILEDB_CLIENT": "1"},
    )  # fmt: skip


@nox.session
def bench(session: nox.Session) -> None:
    """Benchmarks: tilecred against the floor (raw urllib3 + msgspec)."""
    # postgres and pytest: benchmarks/pg_load.py starts its cluster and its
    # instances with the tests' helpers (tests/_postgres.py, tests/_instances.py).
    session.install("-e", ".[server,postgres]", "pytest>=8")
    session.run("python", "-m", "benchmarks", *session.posargs)


@nox.session
def schemathesis(session: nox.Session) -> None:
    """The OpenAPI document against a real ``tilecred serve``, driven by schemathesis.

    Bounded: a fixed number of examples per operation and a fixed seed. Fails
    on any 5xx, schema violation or status the document does not list.
    """
    session.install("-e", ".[server]", "schemathesis==4.32.5")
    session.run("python", "-m", "tests.run_schemathesis", *session.posargs)


# Playwright drives the machine's Chromium (Debian's chromium package; CI
# installs it in .ci/run): it never downloads a browser of its own.
PLAYWRIGHT = "playwright==1.65.3"


@nox.session
def console(session: nox.Session) -> None:
    """The web console in headless Chromium against a real ``tilecred serve``:
    tests/test_console_browser.py, which fails rather than skips here."""
    env = {"PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD": "1", "TILECRED_REQUIRE_BROWSER": "1"}
    session.install("-e", ".[tests]", PLAYWRIGHT, env=env)
    session.run("pytest", "-m", "browser", "tests/test_console_browser.py", *session.posargs,
                env=env)  # fmt: skip


# Each runner's test session: the runner in its tested range, moto for S3,
# and (Airflow) the providers whose hooks the DAG uses.
@nox.session
def airflow(session: nox.Session) -> None:
    """Airflow's secrets backend in real DAG runs (tests/test_runner_airflow.py)."""
    session.install(
        "-e", ".[tests,aws,postgres]", "apache-airflow>=3.0,<3.4",
        "apache-airflow-providers-amazon>=9", "apache-airflow-providers-postgres>=6",
        "moto[server]>=5",
    )  # fmt: skip
    session.run("pytest", "-m", "airflow", *session.posargs)


@nox.session
def prefect(session: nox.Session) -> None:
    """The Prefect block in a real flow run (tests/test_runner_prefect.py)."""
    session.install("-e", ".[tests,aws]", "prefect>=3,<4", "prefect-aws>=0.5", "moto[server]>=5")
    session.run("pytest", "-m", "prefect", *session.posargs)


@nox.session
def dagster(session: nox.Session) -> None:
    """The Dagster resource in a real materialization (tests/test_runner_dagster.py)."""
    session.install("-e", ".[tests,aws]", "dagster>=1.8,<2", "moto[server]>=5")
    session.run("pytest", "-m", "dagster", *session.posargs)
