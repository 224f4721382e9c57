"""`python -m suites`: the suite runs under pytest (`pytest`, `make test-mock`); the commands that
start mocks and run the suite against them are drive's (`python -m drive mutation|drift`, or
`./authconform mutation|drift`). The suite never imports drive/, which imports it."""
import sys

if __name__ == "__main__":
    # Only drive's own command names are echoed back (an argument is untrusted input).
    wanted = sys.argv[1] if sys.argv[1:2] in (["mutation"], ["drift"]) else "mutation|drift"
    print(f"python -m suites {wanted}: the command is `python -m drive {wanted}` (or `./authconform {wanted}`); "
          "the suite itself runs under pytest (make test-mock)", file=sys.stderr)
    sys.exit(2)
