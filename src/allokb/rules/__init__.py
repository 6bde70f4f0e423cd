"""Rules stage: every check that judges what was loaded, one function per rule.

Each rule function is registered (`allokb.rules.catalogue.rule`) for the code it reports, and its
docstring is that code's only documentation: the codes page and `allokb codes` read `catalogue()`,
and the code's entry in `allokb.diagnostics.CODES` holds its title and severity alone. A rule is
one decision; its module is the subject it judges:

- `links`: what the graph resolved (file names, ids, links, bib keys, renames; KB207, KB301-KB306,
  KB310, KB311), run by `check_resolution` on the graph's `Resolution`;
- `records`, `bibliography`, `safety`, `changes`: the resolved knowledge base (KB307, KB308, KB403,
  KB407, KB408, KB410, KB415, KB490-KB494, KB530-KB534), run by `run_rules`, and each entry of the
  bibliography with the link hosts of content/link-hosts.yaml (KB450-KB455,
  `bibliography.check_bibliography`);
- `numbers`: the numbers of one record against its quotes (KB460, KB461), run per file at load
  time, where the document places each finding;
- `sources`: quotes against the committed source texts, and texts without a reference (KB440, KB442);
- `grades`: an intervention against its evidence matrix (KB420, KB471, KB472);
- `readers`: the bottom line, the headings and the maintainers' words (KB480-KB487);
- `urls`: the published URLs against the manifest and the site's files (KB601-KB604).

The rules read what the stages built; the library code they share (the grade computation in
`allokb.grade`, the number tracing in `allokb.numbers`, text normalising in `allokb.sources`,
what readers read in `allokb.readers`, the URL plan in `allokb.urls`) never imports this package,
and the graph resolves and computes backlinks without judging them.

Stage diagnostics are the other codes: a stage reports them while it reads or builds, and their
text stays in `CODES` (tests/test_rules_package.py lists them):

- loading files and parsing YAML (KB101-KB117) and the schema (KB201-KB206, KB208): what one file
  holds;
- reading content/rubric.yaml (KB209, KB470) and content/link-hosts.yaml (KB456): the reader of
  each file checks it whole, as the YAML loader reports a duplicate key, and builds what the
  rules use from what passes (a host listed twice is kept on its first list);
- parsing references.bib (KB401, KB402, KB413, KB414) and the form of each raw field as written
  (KB404-KB406, KB409, KB411, KB412): the bib file's own schema, checked by the parser on the
  field's text before it is decoded, which the model does not keep;
- reading a source text (KB441);
- `allokb verify --online` (KB430-KB434): what the online services answered, outside `check`
  (`allokb.remote.REMOTE_CODES` documents them from `CODES`);
- the build: rendering and the post-build audit (KB501, KB510, KB511).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace

from allokb.diagnostics import CODES, CodeInfo, Diagnostic
from allokb.graph import KnowledgeBase
from allokb.rules import grades, numbers, readers, sources, urls
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
from allokb.rules.records import (
    RECORD_RULES,
    check_claim_ids,
    check_quotes,
    check_self_links,
)
from allokb.rules.safety import SAFETY_RULES

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
    "grades",
    "numbers",
    "readers",
    "rule",
    "rule_doc",
    "run_rules",
    "sources",
    "urls",
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
