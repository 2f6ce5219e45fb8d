"""``python -m skgap``: the ``skgap`` command (see ``skgap --help``)."""

from ._cli import main

if __name__ == "__main__":
    raise SystemExit(main())
