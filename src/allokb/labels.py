"""Human wording for the vocabularies of the schemas, in one place (pages, tables and exports).

Each table words exactly the values of one enum of the schemas (`ENUMS` names it; a test checks
that the two agree), so `label` has no fallback: a value the schema allows has its words here.
"""

from __future__ import annotations

CATEGORY = {
    "precursor-hormone": "Precursor hormone", "pharmaceutical": "Pharmaceutical", "supplement": "Supplement",
    "diet": "Diet", "lifestyle": "Lifestyle", "avoidance": "Avoid", "trt-specific": "TRT-specific",
}
DIRECTION = {
    "raises": "Raises ALLO", "lowers": "Lowers ALLO", "preserves": "Preserves ALLO (by avoiding a cause of loss)",
    "mimics": "Acts like ALLO (synthetic analogue)", "mixed": "Mixed effects", "unclear": "Unclear",
}
PRESCRIPTION = {
    "prescription": "Prescription only", "over-the-counter": "Over the counter", "compounded": "Compounding pharmacy",
    "investigational": "Investigational (trials only)", "varies": "Varies by country", "not-applicable": "Not applicable",
}
POPULATION = {
    "general-adults": "Adults in general", "women": "Women", "men": "Men", "men-on-trt": "Men on TRT",
    "postpartum-women": "Postpartum women", "premenstrual-women": "Women with premenstrual symptoms",
    "menopausal-women": "Menopausal women", "people-with-depression": "People with depression",
    "people-with-anxiety": "People with anxiety", "people-with-ptsd": "People with PTSD",
    "people-with-bipolar-disorder": "People with bipolar disorder", "people-with-schizophrenia": "People with schizophrenia",
    "people-with-alcohol-use-disorder": "People with alcohol use disorder", "hair-loss-patients": "People treated for hair loss",
    "older-adults": "Older adults", "animals": "Animals", "cells": "Cells", "any": "Any population",
}
SUPPORT = {
    "supported": "Supported", "partial": "Partly supported", "not-supported": "Not supported by this source",
    "unchecked": "Not yet checked",
}
SUPERVISION = {"required": "Medical supervision required", "recommended": "Medical supervision recommended",
               "not-stated": "Supervision not stated by the source"}
#: fallbacks only: pages take the wording of outcomes and populations from content/rubric.yaml
OUTCOME = {
    "allo-level": "ALLO level", "neurosteroid-levels": "Other neurosteroid levels",
    "depressive-symptoms": "Depressive symptoms", "negative-mood": "Negative mood", "anxiety": "Anxiety",
    "sleep": "Sleep", "cognition": "Cognition", "pain": "Pain", "sexual-function": "Sexual function",
    "suicidality": "Suicidality", "adverse-effects": "Adverse effects", "pharmacokinetics": "Pharmacokinetics",
    "administration": "Administration", "mechanism": "Mechanism", "regulatory": "Regulatory", "other": "Other",
}
EFFECT = {"increases": "increases", "decreases": "decreases", "no-change": "no change", "mixed": "mixed",
          "not-applicable": "—"}
DESIGN = {
    "meta-analysis": "Meta-analysis", "rct": "Randomised controlled trial", "controlled-trial": "Controlled trial",
    "uncontrolled-trial": "Uncontrolled trial", "cohort": "Cohort study", "case-control": "Case-control study",
    "cross-sectional": "Cross-sectional study", "case-series": "Case series", "case-report": "Case report",
    "pharmacovigilance": "Adverse-event reports", "animal": "Animal study", "in-vitro": "In-vitro study",
    "review": "Review", "regulatory": "Regulatory document", "web": "Web page (not peer-reviewed)",
    "anecdote": "Personal report (anecdote)",
}
RETRACTION = {"none-found": "No retraction, correction or concern found", "retracted": "RETRACTED",
              "corrected": "Corrected (erratum published)", "expression-of-concern": "Expression of concern",
              "unchecked": "Not checked"}
VERIFICATION = {"verified": "Verified", "partly-verified": "Partly verified", "unchecked": "Not yet checked",
                "not-found": "Not found"}
MECHANISM_KIND = {"enzymatic-step": "Enzymatic step", "receptor-action": "Receptor action",
                  "pharmacokinetics": "Pharmacokinetics", "regulation": "Regulation", "concept": "Concept"}
INTERACTION = {"avoid-with": "Avoid with", "counteracts": "Counteracts", "complements": "Used with",
               "alternative-to": "Alternative to"}
CAUTION = {"contraindication": "Who should not use it", "side-effect": "Side effect", "caution": "Caution"}

#: table name -> (schema, JSON pointer of the enum it words): tests/test_views.py checks each
ENUMS = {
    "CATEGORY": ("intervention", "/properties/category"),
    "DIRECTION": ("intervention", "/properties/direction"),
    "PRESCRIPTION": ("intervention", "/properties/prescription_status"),
    "POPULATION": ("common", "/$defs/population"),
    "SUPPORT": ("common", "/$defs/support"),
    "SUPERVISION": ("intervention", "/properties/dosing/items/properties/supervision"),
    "OUTCOME": ("common", "/$defs/outcome"),
    "EFFECT": ("common", "/$defs/effect_direction"),
    "DESIGN": ("citation", "/properties/design"),
    "RETRACTION": ("citation", "/properties/retraction"),
    "VERIFICATION": ("citation", "/properties/verification/properties/status"),
    "MECHANISM_KIND": ("mechanism", "/properties/kind"),
    "INTERACTION": ("intervention", "/properties/interactions/items/properties/kind"),
    "CAUTION": ("intervention", "/properties/cautions/items/properties/kind"),
}


def label(table: dict[str, str], value: str | None) -> str:
    """The wording of `value`, a value of the enum that `table` words ("—" for none)."""
    if value is None:
        return "—"
    return table[value]


def route(value: str | None) -> str:
    """A dose's route as written (free text; `not-applicable` and none as "—")."""
    return "—" if value in (None, "not-applicable") else str(value)


def plain(value: str) -> str:
    """An id without a table of words (a relation when there is no rubric): its words."""
    return value.replace("-", " ")
