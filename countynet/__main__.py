"""`python -m countynet ...` runs the command-line interface."""

from countynet.cli.main import main

if __name__ == "__main__":
    main()
