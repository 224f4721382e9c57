"""`python -m suites mutation|drift`: the same commands as `python -m drive mutation|drift`, where
the code that starts mocks lives now (this name keeps working for the lines people already use)."""
import sys

from drive import main

if __name__ == "__main__":
    sys.exit(main())
