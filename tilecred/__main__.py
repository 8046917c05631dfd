"""``python -m tilecred``: the command line."""

from tilecred._cli import main

if __name__ == "__main__":
    raise SystemExit(main())
