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
from allokb.kinds import BY_NAME
from allokb.load import parse_yaml
from allokb.project import process_document
from allokb.schema import load_schema
from allokb.urls import RESERVED_IDS, section_url

#: `allokb new KIND`: kind name -> content folder
KINDS = {name: kind.folder for name, kind in BY_NAME.items()}

_MODELINE = "# yaml-language-server: $schema=../../src/allokb/schemas/{kind}.schema.json\n"

_TEMPLATES = {
    "intervention": """\
# An intervention: something a person can do, take or avoid that is claimed to change ALLO.
# Field documentation: /evidence/#fields, or the schema named on the first line.
# Every claim needs at least one citation of a key in references.bib.
id: "{id}"
name: "{title}"            # the page title
category: supplement         # {category}
summary: >-
  TODO: two to four sentences on what it is and what is claimed about ALLO.
bottom_line:                 # the answer first: up to three plain sentences, under 70 words in all
  - text: "TODO: what it is, what the evidence shows in whom, and the main risk."
#   claims: [raises-serum-allo]   # ids of the claims below that the sentence rests on
direction: unclear           # {direction} (the effect on ALLO)
relation: raises-endogenous  # {relation} (what it is to ALLO)
main_outcome: {{outcome: allo-level, population: general-adults}}   # what it is mainly used for, and in whom
prescription_status: over-the-counter   # {prescription_status}
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
#        support: supported     # {support}
""",
    "mechanism": """\
# A mechanism: how ALLO is made, acts, or is lowered.
# Field documentation: /evidence/#fields, or the schema named on the first line.
id: "{id}"
name: "{title}"
kind: concept                # {mechanism_kind}
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
design: review               # {design}
peer_reviewed: true
# population: "who or what was studied"
# sample_size: 40
findings: []                 # - text: "what it shows"  quote: "its exact words"  locator: abstract
verification:
  status: unchecked          # {status}
  # checked_on: "YYYY-MM-DD"
  # checked_against:
  #   - url: "https://pubmed.ncbi.nlm.nih.gov/NNNNNNNN/"
  #     fields: [author, title, journal, year, volume, pages, doi, pmid]
""",
}


#: placeholder of a template -> (schema, JSON pointer) of the enum its comment lists: the values
#: are written once, in the schema
_CHOICES = {
    "category": ("intervention", "/properties/category"), "direction": ("intervention", "/properties/direction"),
    "relation": ("intervention", "/properties/relation"),
    "prescription_status": ("intervention", "/properties/prescription_status"),
    "support": ("common", "/$defs/support"), "mechanism_kind": ("mechanism", "/properties/kind"),
    "design": ("citation", "/properties/design"),
    "status": ("citation", "/properties/verification/properties/status"),
}


def _choices() -> dict[str, str]:
    """Each placeholder of `_CHOICES` as the comment lists it: `a | b | c`."""
    out = {}
    for name, (schema, pointer) in _CHOICES.items():
        node = load_schema(schema)
        for part in pointer.strip("/").split("/"):
            node = node[part]
        out[name] = " | ".join(node["enum"])
    return out


#: the entry of a kind without a template of its own: what `model.build_record` needs
_GENERIC = """\
id: "{id}"
name: "{title}"
summary: >-
  TODO: two to four sentences.
"""


def check_ident(kind: str, ident: str) -> None:
    """Raise `UsageError` unless `ident` is an id (for a citation, a bib key) that the check
    accepts: the schema's pattern and length, and not a reserved id."""
    import jsonschema

    definition = load_schema("common")["$defs"]["bibkey" if BY_NAME[kind].id_field == "key" else "id"]
    for error in jsonschema.Draft202012Validator(definition).iter_errors(ident):
        if error.validator == "maxLength":
            raise UsageError(f"`{shown(ident)}` is {len(ident)} characters; the limit is {error.validator_value}")
        form = "a bib key such as `griffin1999selective`" if BY_NAME[kind].id_field == "key" else \
            "a lower-case kebab-case id such as `oral-progesterone`"
        raise UsageError(f"`{shown(ident)}` is not {form}")
    if ident in RESERVED_IDS:
        raise UsageError(f"`{ident}` is reserved: its page would replace `{section_url(BY_NAME[kind])}`, "
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
    text = _MODELINE.format(kind=BY_NAME[kind].schema) + _TEMPLATES.get(kind, _GENERIC).format(id=ident, title=title, **_choices())
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
