"""Human wording for the vocabularies of the schemas, in one place (pages, tables and exports)."""

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
ROUTE = {"not-applicable": "—"}


def label(table: dict[str, str], value: str | None) -> str:
    """The wording of `value` in `table` (the value itself when the table has no entry)."""
    if value is None:
        return "—"
    return table.get(value, value.replace("-", " "))
