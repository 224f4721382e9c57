"""`python -m drive mutation|drift`."""
import sys

from ._cli import main

sys.exit(main())
