"""`python -m msante`."""

from msante.cli.main import run

run()
