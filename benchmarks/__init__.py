"""Benchmarks: tilecred against the floor (raw urllib3 + msgspec).

Run ``python -m benchmarks`` (or ``nox -s bench``); ``--smoke`` for a run of
a few seconds with tiny sizes. See ``docs/benchmarks.md``.
"""
