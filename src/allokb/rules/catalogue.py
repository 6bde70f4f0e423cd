"""The catalogue of rules: each rule function is registered for the code it reports, and its
docstring is that code's documentation (the codes page and `allokb codes` read it).

A code's title and severity stay in `allokb.diagnostics.CODES`, in one place with every other
code; a code that a rule function documents has no text there.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import TypeVar

from allokb.diagnostics import CODES

F = TypeVar("F", bound=Callable[..., object])

#: code -> the rule function that reports it
RULES_BY_CODE: dict[str, Callable[..., object]] = {}


def rule(code: str) -> Callable[[F], F]:
    """Register a function as the rule of `code`; its docstring becomes the code's documentation."""
    def register(function: F) -> F:
        if code not in CODES:
            raise ValueError(f"{function.__name__}: {code} is not in CODES")  # a bug, caught by the tests
        if code in RULES_BY_CODE:
            raise ValueError(f"{function.__name__}: {code} already has a rule, {RULES_BY_CODE[code].__name__}")
        RULES_BY_CODE[code] = function
        return function
    return register


def rule_doc(function: Callable[..., object]) -> str:
    """A rule's documentation: its docstring as one paragraph."""
    return " ".join(inspect.cleandoc(function.__doc__ or "").split())
