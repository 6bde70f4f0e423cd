"""allokb: the knowledge-base toolkit behind the Allopregnanolone Evidence Atlas."""

__version__ = "0.1.0"
