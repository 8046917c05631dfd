"""``python -m tilecred``: the command line."""

from tilecred._cli import main

raise SystemExit(main())
