"""Every size limit tilecred enforces, written once.

The library, the command line, the server and the OpenAPI document all read
these constants; docs/security.md explains each choice.

Names are counted in characters (Python ``len``, i.e. code points). The
longest URL that names within these limits can make — every character a
4-byte UTF-8 sequence, percent-encoded to 12 bytes — must fit in
:data:`MAX_URL_BYTES`, which is what the server has to accept in a request
line; ``tests/test_limits.py`` checks that it does.
"""

from __future__ import annotations

__all__ = [
    "MAX_CREDENTIAL_NAME",
    "MAX_DESCRIPTION",
    "MAX_GCP_KEY_CHARS",
    "MAX_PASSPHRASE_CHARS",
    "MAX_PBKDF2_ITERATIONS",
    "MAX_PER_PAGE",
    "MAX_PRIVATE_KEY_CHARS",
    "MAX_PURPOSE",
    "MAX_RSA_BITS",
    "MAX_SCRYPT_COST",
    "MAX_TARGET",
    "MAX_TEAMSPACE_NAME",
    "MAX_TOKEN_NAME",
    "MAX_URL_BYTES",
    "MAX_WORKSPACE_NAME",
]

# -- names -----------------------------------------------------------------------

# A credential name is the one name users make many of, and often compose
# ("team-project-env-bucket"): 256 characters leaves room for that.
MAX_CREDENTIAL_NAME = 256
# Teamspace and workspace names label a group; token names are a label too.
MAX_TEAMSPACE_NAME = 128
MAX_WORKSPACE_NAME = 128
MAX_TOKEN_NAME = 128
# What a use says it is for (``purpose=``: a runner's DAG and task, say), in the audit record.
MAX_PURPOSE = 200
# An association's target: a URL prefix or an object id. Long enough for any
# bucket, container or host plus a deep prefix; short enough for a query string.
MAX_TARGET = 1000

# The request line (method, path, query, version) the server must accept.
# 8 KiB is also what nginx accepts by default (large_client_header_buffers),
# so a server behind a proxy with stock settings still answers every valid
# name. The longest valid URL is about 6.2 KB (see tests/test_limits.py).
MAX_URL_BYTES = 8192

# -- listings ---------------------------------------------------------------------

# The largest page of a listing, on the local store and on the server alike:
# one page is built whole in memory and sent as one body.
MAX_PER_PAGE = 1000

# -- key material checked by verify ---------------------------------------------------

# A Snowflake private key (PEM) and a GCP service-account key file (JSON).
# A 4096-bit RSA key, encrypted, is about 3.4 KB of PEM; Google's key files
# are about 2.4 KB. Nothing is parsed before its size is checked.
MAX_PRIVATE_KEY_CHARS = 8 * 1024
MAX_GCP_KEY_CHARS = 32 * 1024
MAX_PASSPHRASE_CHARS = 1024
# The largest RSA modulus accepted, with each prime at most half of it.
# Snowflake and Google use 2048-bit keys; 4096 bits is the largest size
# either documents or generates.
MAX_RSA_BITS = 4096
# The most key-derivation work a key's sender may ask of verify. PBKDF2:
# OWASP's 2023 figure for HMAC-SHA256 (600,000), 290 times OpenSSL's default
# of 2,048. scrypt: N*r*p up to 2**18, twice OpenSSL's default (N=16384, r=8,
# p=1) and the 32 MiB of memory OpenSSL itself allows when it decrypts a key.
MAX_PBKDF2_ITERATIONS = 600_000
MAX_SCRYPT_COST = 2**18

# -- descriptions ------------------------------------------------------------------

# A credential's description: a sentence or a paragraph, shown by get and list.
MAX_DESCRIPTION = 1000
