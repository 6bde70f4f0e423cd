"""Rules stage: every check that needs more than one file, one function per rule.

Each rule function is registered (`allokb.rules.catalogue.rule`) for the code it reports, and its
docstring is that code's documentation: the codes page and `allokb codes` read `catalogue()`.
`check_resolution` judges what the graph resolved (ids, links, bib keys, renames: `links`);
`run_rules` runs the rules on the resolved knowledge base (`records`, `bibliography`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace

from allokb.diagnostics import CODES, CodeInfo, Diagnostic
from allokb.graph import KnowledgeBase
from allokb.rules.bibliography import (
    BIBLIOGRAPHY_RULES,
    check_cited_nowhere,
    check_duplicate_publications,
    check_empty_corrections,
    check_required_fields,
)
from allokb.rules.catalogue import RULES_BY_CODE, rule, rule_doc
from allokb.rules.changes import CHANGES_RULES
from allokb.rules.links import check_resolution
from allokb.rules.safety import SAFETY_RULES
from allokb.rules.records import (
    RECORD_RULES,
    check_claim_ids,
    check_quotes,
    check_self_links,
)

__all__ = [
    "RULES",
    "RULES_BY_CODE",
    "catalogue",
    "check_cited_nowhere",
    "check_claim_ids",
    "check_duplicate_publications",
    "check_empty_corrections",
    "check_quotes",
    "check_required_fields",
    "check_resolution",
    "check_self_links",
    "rule",
    "rule_doc",
    "run_rules",
]

#: the rules on the resolved knowledge base, in the order they run
RULES: tuple[Callable[[KnowledgeBase], Iterator[Diagnostic]], ...] = (*BIBLIOGRAPHY_RULES, *RECORD_RULES,
                                                                    *SAFETY_RULES, *CHANGES_RULES)


def run_rules(kb: KnowledgeBase) -> list[Diagnostic]:
    """Run every rule over the knowledge base."""
    return [d for rule in RULES for d in rule(kb)]


def catalogue() -> dict[str, CodeInfo]:
    """Every code with its title, severity and documentation: the documentation of a code with a
    rule function is that function's docstring. In the order of `CODES`. It lives in the package,
    which has imported every rule module above, so that no rule module imports the package."""
    return {code: replace(info, doc=rule_doc(RULES_BY_CODE[code])) if code in RULES_BY_CODE else info
            for code, info in CODES.items()}
