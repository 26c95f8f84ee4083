"""`python -m processors worker` runs a Faust worker of the battrace pipeline."""

from processors.app import app

if __name__ == "__main__":
    app.main()
