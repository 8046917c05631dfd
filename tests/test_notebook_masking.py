"""A real notebook, run by nbclient on an IPython kernel: no secret reaches the .ipynb.

The credentials are stored by the test, not by the notebook, whose cells
would otherwise hold the secrets in their source. The cells show the forms
as cell results, print them, display them, log them (logging configured
before the first use and a handler added after it) and raise with a secret
in the message; the saved notebook and the log file hold none of it, while
a digest the kernel computes proves the real values were there.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient

from tilecred import create_credential

# Fresh to this module: masked because the kernel handed them out, not because
# this test process did.
AWS_SECRET = "NBCANARY-aws-5d0c61f8e2b94a7c"
GCP_PRIVATE = "NBCANARYgcpprivatekeybody0f3a9c1e77d24b58aa6e"
_GCP_KEY = json.dumps(
    {
        "type": "service_account",
        "project_id": "lake-project",
        "private_key_id": "NBCANARY-keyid-71c2",
        "private_key": f"-----BEGIN PRIVATE KEY-----\n{GCP_PRIVATE}\n-----END PRIVATE KEY-----\n",
        "client_email": "reader@lake-project.iam.gserviceaccount.com",
    }
)

CELLS = [
    # 0: logging configured before the first use.
    "import hashlib, json, logging, os, sys\n"
    "import tilecred\n"
    "logging.basicConfig(level=logging.INFO, stream=sys.stderr,"
    ' format="%(name)s %(message)s", force=True)',
    # 1
    'access = tilecred.use_credential("lake")\ngcs = tilecred.use_credential("gcs")',
    # 2-5: the forms as cell results.
    "access.storage_options()",
    "access.env()",
    "access.tiledb_config()",
    "gcs.storage_options()",
    # 6: printed, as they are and as plain dicts.
    "print(access.env())\n"
    "print(dict(access.storage_options()))\n"
    "print(json.dumps(access.tiledb_config()))\n"
    'print(gcs.storage_options()["token"]["private_key"])',
    # 7: logged through the handler configured before the use.
    'logging.getLogger("notebook").info("options %s", dict(access.storage_options()))',
    # 8: a handler added after the use, writing to a file.
    'logging.getLogger().addHandler(logging.FileHandler(os.environ["NOTEBOOK_LOG"]))\n'
    'logging.getLogger("late").warning("key " + access.env()["AWS_SECRET_ACCESS_KEY"])',
    # 9: a bare secret as the result, and shown by display().
    'access.env()["AWS_SECRET_ACCESS_KEY"]',
    "from IPython.display import display\ndisplay(dict(access.tiledb_config()))",
    # 11: the kernel has the real value.
    'hashlib.sha256(access.env()["AWS_SECRET_ACCESS_KEY"].encode()).hexdigest()',
    # 12: kept after the access is closed.
    "kept = dict(access.env())\naccess.close()\ngcs.close()\nprint(kept)",
    # 13: a traceback.
    'raise RuntimeError("bad key " + kept["AWS_SECRET_ACCESS_KEY"])',
]


def _texts(output: dict[str, Any]) -> list[str]:
    """The text of one output: a stream's, a result's or display's, a traceback's."""
    if output["output_type"] == "stream":
        return [output["text"]]
    if output["output_type"] == "error":
        return [output["evalue"], *output["traceback"]]
    return [output["data"].get("text/plain", ""), output["data"].get("text/html", "")]


@pytest.fixture
def notebook(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """The notebook, executed and saved, and the file its late handler logged to."""
    create_credential("lake", "AWS", allowed_in_tasks=True, credential={"aws": {
        "access_key_id": "AKIAIOSFODNN7EXAMPLE", "secret_access_key": AWS_SECRET}})  # fmt: skip
    create_credential("gcs", "GCP", allowed_in_tasks=True, token={"gcp": {
        "account_id": "reader@lake-project.iam.gserviceaccount.com", "key_id": "k1",
        "key_text": _GCP_KEY}})  # fmt: skip
    log = tmp_path / "notebook.log"
    # The kernel inherits the environment: the test's store, and nothing in the home directory.
    monkeypatch.setenv("NOTEBOOK_LOG", str(log))
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "jupyter-runtime"))
    monkeypatch.setenv("JUPYTER_PLATFORM_DIRS", "1")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source) for source in CELLS]
    nb.cells[-1].metadata["tags"] = ["raises-exception"]
    client = NotebookClient(nb, kernel_name="python3", timeout=120,
                            resources={"metadata": {"path": str(tmp_path)}})  # fmt: skip
    client.execute()
    saved = tmp_path / "masked.ipynb"
    nbformat.write(nb, saved)
    return saved, log


def test_no_secret_reaches_the_saved_notebook_or_the_log(notebook: tuple[Path, Path]) -> None:
    saved, log = notebook
    text = saved.read_text()
    for secret in (AWS_SECRET, GCP_PRIVATE, "NBCANARY"):
        assert secret not in text
    assert log.read_text() == "key ***\n"

    outputs = [[t for output in cell.outputs for t in _texts(output)]
               for cell in nbformat.read(saved, as_version=4).cells]  # fmt: skip
    secret_shown = "'secret': '***'"
    assert secret_shown in outputs[2][0]
    assert "'AWS_SECRET_ACCESS_KEY': '***'" in outputs[3][0]
    assert "&#x27;***&#x27;" in outputs[3][1]  # the HTML table
    assert "'vfs.s3.aws_secret_access_key': '***'" in outputs[4][0]
    assert "'private_key': '***'" in outputs[5][0]
    assert "'client_email': 'reader@lake-project.iam.gserviceaccount.com'" in outputs[5][0]
    printed = outputs[6][0]
    assert printed.count("'***'") == 2
    assert '"vfs.s3.aws_secret_access_key": "***"' in printed
    assert printed.endswith("}\n***\n")  # the whole private key
    assert outputs[7] == [f"notebook options {{'key': 'AKIAIOSFODNN7EXAMPLE', {secret_shown}}}\n"]
    assert outputs[8] == ["late key ***\n"]
    assert outputs[9] == ["'***'", ""]
    assert "'vfs.s3.aws_secret_access_key': '***'" in outputs[10][0]
    digest = hashlib.sha256(AWS_SECRET.encode()).hexdigest()
    assert outputs[11] == [repr(digest), ""]
    assert outputs[12] == [
        "{'AWS_ACCESS_KEY_ID': 'AKIAIOSFODNN7EXAMPLE', 'AWS_SECRET_ACCESS_KEY': '***'}\n"
    ]
    assert outputs[13][0] == "bad key ***"
