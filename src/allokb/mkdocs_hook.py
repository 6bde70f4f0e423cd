"""The hook mkdocs.yml names (`hooks:`), for a plain `mkdocs build` or `mkdocs serve`.

MkDocs loads a hook from its path as a module of its own, so this file holds nothing: it hands
MkDocs' events to `allokb.sink`, which Python imports once, as part of the package. Its logic and
documentation are there.
"""

from allokb.sink import on_config, on_shutdown, on_startup

__all__ = ["on_config", "on_shutdown", "on_startup"]
