"""``python -m skgap``: the ``skgap`` command (see ``skgap --help``)."""

from ._cli import build_parser, main  # noqa: F401  (docs/conf.py uses build_parser)

if __name__ == "__main__":
    raise SystemExit(main())
