"""GCP service-account keys in each form (HMAC keys live with S3, in ``_aws``)."""

from __future__ import annotations

from typing import Any, ClassVar

from .._models import GCPServiceAccountKey
from ._base import Forms, use_error

__all__ = ["GCPServiceAccountForms"]

# The fields of a key file that are secret on their own (client_email, say, is not).
_KEY_SECRETS = ("private_key", "private_key_id")


class GCPServiceAccountForms(Forms):
    """``Token(gcp=GCPServiceAccountKey(...))``: a JSON key file's text.

    Google's libraries read a key from a file named by
    ``GOOGLE_APPLICATION_CREDENTIALS``, so ``env()`` writes one (0600, in a
    0700 directory) that closing the access removes.
    """

    kind = "a GCP service-account key"
    not_applicable: ClassVar[dict[str, str]] = {
        "boto3_session": "boto3 is for AWS; a GCP HMAC key (Credential(gcp=...)) is S3-compatible"
    }
    member: GCPServiceAccountKey

    def key_text(self) -> str:
        text = self.member.key_text
        if text is None:
            raise use_error(self.name, f"{self.kind} came without its secret")
        return text

    def key_info(self) -> dict[str, Any]:
        """The key file, parsed; a key that is not a JSON object is refused."""
        import json  # loads on first use: `import tilecred` stays cheap

        try:
            info = json.loads(self.key_text())
        except (ValueError, RecursionError):  # RecursionError: deeply nested JSON
            info = None
        if not isinstance(info, dict):
            # No detail from the parser: it would quote the key.
            raise use_error(self.name, f"{self.kind} is not a JSON object")
        for field in _KEY_SECRETS:
            if isinstance(info.get(field), str):
                self.secret(info[field])  # parsed out of key_text: masked on its own
        return info

    def _project(self) -> str | None:
        project = self.key_info().get("project_id")
        return project if isinstance(project, str) and project else None

    def env(self) -> dict[str, str]:
        self.key_info()  # refuse a broken key before writing it anywhere
        path = self.files.write("gcp-service-account.json", self.key_text())
        env = {"GOOGLE_APPLICATION_CREDENTIALS": path}
        project = self._project()
        if project is not None:
            env["GOOGLE_CLOUD_PROJECT"] = project
        return env

    def storage_options(self) -> dict[str, Any]:
        options: dict[str, Any] = {"token": self.key_info()}
        project = self._project()
        if project is not None:
            options["project"] = project
        return options

    def tiledb_config(self) -> dict[str, str]:
        self.key_info()
        config = {"vfs.gcs.service_account_key": self.key_text()}
        project = self._project()
        if project is not None:
            config["vfs.gcs.project_id"] = project
        return config
