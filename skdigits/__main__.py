"""``python -m skdigits``: the command line (see :mod:`skdigits._cli`)."""

from skdigits._cli import main

if __name__ == "__main__":
    raise SystemExit(main())
