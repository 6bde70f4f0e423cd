"""`allokb new KIND ID`: write a commented entry that passes `allokb check` as it stands.

An id is refused (a usage error) if the check would refuse it: the pattern and length come from
the schema itself, reserved ids from the URL rules, and the file about to be written is run
through the load, schema and model stages before it is written.
"""

from __future__ import annotations

import os

from pathlib import Path

from allokb.bib import load_references
from allokb.diagnostics import KbError, UsageError, shown
from allokb.files import folder_problem
from allokb.graph import process_document
from allokb.load import parse_yaml
from allokb.schema import load_schema
from allokb.urls import RESERVED_IDS, SECTION_OF_KIND

KINDS = {"intervention": "interventions", "mechanism": "mechanisms", "citation": "citations"}

_MODELINE = "# yaml-language-server: $schema=../../src/allokb/schemas/{kind}.schema.json\n"

_TEMPLATES = {
    "intervention": """\
# An intervention: something a person can do, take or avoid that is claimed to change ALLO.
# Field documentation: /evidence/#fields, or the schema named on the first line.
# Every claim needs at least one citation of a key in references.bib.
id: "{id}"
name: "{title}"            # the page title
category: supplement         # precursor-hormone | pharmaceutical | supplement | diet | lifestyle | avoidance | trt-specific
summary: >-
  TODO: two to four sentences on what it is and what is claimed about ALLO.
bottom_line:                 # the answer first: up to three plain sentences, under 70 words in all
  - text: "TODO: what it is, what the evidence shows in whom, and the main risk."
#   claims: [raises-serum-allo]   # ids of the claims below that the sentence rests on
direction: unclear           # raises | lowers | preserves | mimics | mixed | unclear (the effect on ALLO)
relation: raises-endogenous  # raises-endogenous | is-allopregnanolone | mimics | lowers | preserves (what it is to ALLO)
main_outcome: {{outcome: allo-level, population: general-adults}}   # what it is mainly used for, and in whom
prescription_status: over-the-counter   # prescription | over-the-counter | compounded | investigational | varies | not-applicable
populations: [general-adults]            # who the evidence concerns, from the controlled list
mechanisms: []               # ids of files in content/mechanisms/
claims: []
# A claim looks like this (uncomment and fill in):
#  - id: raises-serum-allo
#    statement: "One checkable sentence."
#    outcome: allo-level     # allo-level | depressive-symptoms | anxiety | sleep | ... (content/rubric.yaml)
#    direction: increases
#    population: general-adults        # whom the statement is about, from the controlled list
#    population_note: "healthy adults"  # who was studied, in words
#    dose: "400 mg single dose"
#    route: oral
#    citations:
#      - ref: surname2020word   # a key in references.bib
#        locator: abstract
#        quote: "The exact words of the source."
#        support: supported     # supported | partial | not-supported | unchecked
""",
    "mechanism": """\
# A mechanism: how ALLO is made, acts, or is lowered.
# Field documentation: /evidence/#fields, or the schema named on the first line.
id: "{id}"
name: "{title}"
kind: concept                # enzymatic-step | receptor-action | pharmacokinetics | regulation | concept
summary: >-
  TODO: two to four sentences.
# For an enzymatic step, uncomment:
# step:
#   substrate: "Progesterone"
#   product: "5α-DHP"
#   enzyme: "5α-reductase"
upstream: []                 # ids of mechanisms that come before this one
claims: []                   # checkable statements, as in an intervention
""",
    "citation": """\
# A citation record: what the source `{id}` of references.bib is and shows, and how its
# bibliographic record was checked. Bibliographic facts stay in references.bib.
key: "{id}"
design: review               # meta-analysis | rct | controlled-trial | uncontrolled-trial | cohort | case-control | cross-sectional | case-series | case-report | pharmacovigilance | animal | in-vitro | review | regulatory | web | anecdote
peer_reviewed: true
# population: "who or what was studied"
# sample_size: 40
findings: []                 # - text: "what it shows"  quote: "its exact words"  locator: abstract
verification:
  status: unchecked          # verified | partly-verified | unchecked | not-found
  # checked_on: "YYYY-MM-DD"
  # checked_against:
  #   - url: "https://pubmed.ncbi.nlm.nih.gov/NNNNNNNN/"
  #     fields: [author, title, journal, year, volume, pages, doi, pmid]
""",
}


def check_ident(kind: str, ident: str) -> None:
    """Raise `UsageError` unless `ident` is an id (for a citation, a bib key) that the check
    accepts: the schema's pattern and length, and not a reserved id."""
    import jsonschema

    definition = load_schema("common")["$defs"]["bibkey" if kind == "citation" else "id"]
    for error in jsonschema.Draft202012Validator(definition).iter_errors(ident):
        if error.validator == "maxLength":
            raise UsageError(f"`{shown(ident)}` is {len(ident)} characters; the limit is {error.validator_value}")
        form = "a bib key such as `griffin1999selective`" if kind == "citation" else \
            "a lower-case kebab-case id such as `oral-progesterone`"
        raise UsageError(f"`{shown(ident)}` is not {form}")
    if ident in RESERVED_IDS:
        raise UsageError(f"`{ident}` is reserved: its page would replace `/{SECTION_OF_KIND[KINDS[kind]]}/`, "
                         "the page of the section itself")


def scaffold(root: Path, kind: str, ident: str) -> Path:
    """Write content/<kinds>/<ident>.yaml from the template of `kind`; return its path.

    Raises `UsageError` for an unknown kind or an id the check would refuse, and `KbError` when
    the file exists already or (for a citation) the key is not in references.bib.
    """
    if kind not in KINDS:
        raise UsageError(f"unknown kind `{kind}`; expected one of: {', '.join(KINDS)}")
    check_ident(kind, ident)
    folder = root / "content" / KINDS[kind]
    path = folder / f"{ident}.yaml"
    problem = folder_problem(root, f"content/{KINDS[kind]}")
    if problem is not None:  # a linked folder would take the new file anywhere it points
        raise KbError(f"{problem.location.file}: {problem.message}; nothing was written")
    if os.path.lexists(path):
        raise KbError(f"{path.relative_to(root).as_posix()} exists already; edit it instead")
    if kind == "citation":
        keys = {r.key for r in load_references(root)[0] or []}
        if ident not in keys:
            raise KbError(f"`{ident}` is not a key in references.bib; add the bib entry first "
                          "(CONTRIBUTING.md shows how)")
    title = ident.replace("-", " ").capitalize()
    text = _MODELINE.format(kind=kind) + _TEMPLATES[kind].format(id=ident, title=title)
    rel = f"content/{KINDS[kind]}/{ident}.yaml"
    doc, problems = parse_yaml(text, rel, KINDS[kind], ident)  # the file as `check` will read it
    found = process_document(doc, problems).diagnostics if doc is not None else tuple(problems)
    if found:
        raise UsageError(f"`{shown(ident)}` cannot be used: the new file would fail the check: {found[0].message}")
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".{ident}.yaml.tmp"  # hidden: never read as content while being written
    # O_EXCL: a link planted at the temporary name is never written through (a stale one, left by
    # a killed run, is removed first: unlinking a link removes the link, not what it points to).
    if os.path.lexists(tmp):
        os.unlink(tmp)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)
    tmp.replace(path)
    return path
