"""`python -m battrace` is the `battrace` command."""

from battrace.cli.main import main

if __name__ == "__main__":
    main()
