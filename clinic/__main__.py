"""`python -m clinic`: the same command line as `clinic` (how `clinic up` starts its parts)."""

from clinic.cli import app

app()
