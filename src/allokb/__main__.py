"""`python -m allokb`: the same command line as `allokb`."""

from allokb.cli import run

run()
