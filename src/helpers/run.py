"""`python -m helpers.run ...`: the command-line entry point; the runner lives in `helpers.core.run`."""

from helpers.core.run import main

if __name__ == "__main__":
    raise SystemExit(main())
