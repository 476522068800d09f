"""``python -m sign``: see :mod:`sign.cli`."""
import sys

from sign.cli import main

if __name__ == "__main__":
    sys.exit(main())
