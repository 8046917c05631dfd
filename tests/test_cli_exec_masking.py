"""``tilecred exec`` masks what it handed out in the command's output, as the output comes.

Real processes throughout: the installed console script, a child that writes
its secrets in every shape, pipes and a pseudo-terminal.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys

import tilecred
from tests.conftest import CANARY_SECRET
from tests.test_cli_support import SCRIPT, Terminal, cli_env

KEY_ID = "AKIAIOSFODNN7EXAMPLE"
PY = sys.executable
PRIVATE_KEY = f"-----BEGIN PRIVATE KEY-----\n{CANARY_SECRET}\n-----END PRIVATE KEY-----\n"


def _aws() -> None:
    aws = {"aws": {"access_key_id": KEY_ID, "secret_access_key": CANARY_SECRET}}
    tilecred.create_credential("lake", "AWS", allowed_in_tasks=True, credential=aws)


def _exec(args: list[str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [*SCRIPT, "exec", *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, env=cli_env(),
    )  # fmt: skip


# Writes the secret whole, in two writes with a pause between (it waits for a
# line on stdin), and beside binary bytes; the same to stderr.
SHOW = """
import os, sys
secret = os.environ["AWS_SECRET_ACCESS_KEY"].encode()
os.write(1, b"id " + os.environ["AWS_ACCESS_KEY_ID"].encode() + b" key " + secret + b"\\n")
os.write(1, b"half " + secret[:7])
sys.stdin.readline()
os.write(1, secret[7:] + b" \\x00\\xff\\xfe" + secret + b"\\x80\\n")
os.write(2, b"err " + secret + b"\\n")
"""


def test_the_output_shows_each_secret_as_stars_split_or_not_and_binary_passes() -> None:
    _aws()
    proc = _exec(["lake", "--", PY, "-c", SHOW])
    out, err = proc.communicate(b"go\n", timeout=60)
    assert proc.returncode == 0, err
    assert out == f"id {KEY_ID} key ***\nhalf *** \x00".encode() + b"\xff\xfe***\x80\n"
    assert err == b"err ***\n"


def test_no_masking_passes_the_output_as_it_is() -> None:
    _aws()
    proc = _exec(["lake", "--no-masking", "--", PY, "-c", SHOW])
    out, err = proc.communicate(b"go\n", timeout=60)
    secret = CANARY_SECRET.encode()
    assert (proc.returncode, err) == (0, b"err " + secret + b"\n")
    assert out == f"id {KEY_ID} key ".encode() + secret + b"\nhalf " + secret + b" \x00\xff\xfe" + (
        secret + b"\x80\n"
    )


def test_a_line_is_passed_on_as_soon_as_it_is_written() -> None:
    _aws()
    child = "import sys\nprint('ready', flush=True)\nsys.stdin.readline()\nprint('done')\n"
    proc = _exec(["lake", "--", PY, "-c", child])
    assert proc.stdout is not None
    assert proc.stdout.readline() == b"ready\n"  # the child is still waiting for its line
    out, err = proc.communicate(b"go\n", timeout=60)
    assert (proc.returncode, out, err) == (0, b"done\n", b"")


def test_a_reader_that_leaves_ends_the_command_as_it_would_without_tilecred() -> None:
    _aws()
    # SIGPIPE's default action, as in a program not written in Python.
    child = (
        "import signal\nsignal.signal(signal.SIGPIPE, signal.SIG_DFL)\n"
        "while True:\n    print('line', flush=True)\n"
    )
    proc = _exec(["lake", "--", PY, "-c", child])
    assert proc.stdout is not None
    assert proc.stdout.readline() == b"line\n"
    proc.stdout.close()  # `| head -1`
    _out, err = proc.communicate(timeout=60)
    assert (proc.returncode, err) == (128 + signal.SIGPIPE, b"")


def test_a_gcp_private_key_is_masked_in_the_key_file_and_decoded() -> None:
    key = {"type": "service_account", "client_email": "sa@p.iam.gserviceaccount.com",
           "private_key_id": "k1", "private_key": PRIVATE_KEY}  # fmt: skip
    gcp = {"account_id": key["client_email"], "key_id": "k1", "key_text": json.dumps(key)}
    tilecred.create_credential("gcs", "GCP", allowed_in_tasks=True, token={"gcp": gcp})
    child = (
        "import json, os; text = open(os.environ['GOOGLE_APPLICATION_CREDENTIALS']).read(); "
        "key = json.loads(text); print(text); print(key['private_key']); print(key['client_email'])"
    )
    done = subprocess.run(
        [*SCRIPT, "exec", "gcs", "--", PY, "-c", child], capture_output=True, text=True,
        timeout=60, stdin=subprocess.DEVNULL, env=cli_env(),
    )  # fmt: skip
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout == "***\n***\nsa@p.iam.gserviceaccount.com\n"


def test_on_a_terminal_the_command_still_has_one_and_its_output_is_masked() -> None:
    _aws()
    child = (
        "import os, sys\n"
        "print('tty', os.isatty(0), os.isatty(1), os.isatty(2), flush=True)\n"
        "sys.stdin.readline()\n"
        "print('key', os.environ['AWS_SECRET_ACCESS_KEY'], flush=True)\n"
        "sys.stderr.write('err ' + os.environ['AWS_SECRET_ACCESS_KEY'] + '\\n')\n"
    )
    terminal = Terminal(["exec", "lake", "--", PY, "-c", child], cli_env())
    terminal.expect("tty True True True\n")  # shown while the command waits for input
    terminal.send("go\n")
    code, output = terminal.finish()
    assert code == 0
    assert output.endswith("tty True True True\ngo\nkey ***\nerr ***\n")
    assert CANARY_SECRET not in output


def test_exec_ends_with_the_command_though_a_process_it_left_still_holds_the_output() -> None:
    _aws()
    # The grandchild keeps the output channel open, waiting for stdin to close.
    child = (
        "import subprocess, sys\n"
        "subprocess.Popen([sys.executable, '-c', 'import sys; sys.stdin.read(); print(1)'])\n"
        "print('command done', flush=True)\n"
    )
    proc = _exec(["lake", "--", PY, "-c", child])
    assert proc.stdout is not None
    assert proc.stdin is not None
    assert proc.wait(timeout=60) == 0  # while the grandchild still waits
    assert proc.stdout.read() == b"command done\n"
    proc.stdin.close()  # the grandchild reads its end of input, writes, and is gone
    assert proc.stderr is not None
    assert proc.stderr.read() == b""
    proc.stdout.close()
    proc.stderr.close()
