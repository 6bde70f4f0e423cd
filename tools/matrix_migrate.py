"""One-off migration for the evidence matrix (issue 13): name each claim's outcome and population
from the vocabularies, and each intervention's relation to ALLO and main outcome.

Edits lines only, never re-serialises a file: on a claim, `population: "text"` becomes
`population_note: "text"` and a `population: <id>` line is added; `outcome:` and `direction:`
values are replaced where the vocabulary changed (`mood` became `depressive-symptoms`, whose
direction is the opposite: mood `decreases` = depressive symptoms `increases`, or
`negative-mood`; `safety` became `adverse-effects` or `administration`); `relation:` and
`main_outcome:` lines are added after an intervention's `direction:`, and `outcome:` and
`population:` after an approval's `indication:`. Running it again changes nothing.

    PYTHONPATH=src python tools/matrix_migrate.py [ROOT]

The table below is the decision for every claim, made by reading it (see the commit message).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from allokb.load import parse_yaml  # noqa: E402
from allokb.schema import load_schema  # noqa: E402

K = "keep"
#: intervention id -> (relation, main outcome, main population, {approval index: (outcome, population)})
INTERVENTIONS: dict[str, tuple[str, str, str, dict[int, tuple[str, str]]]] = {
    "avoid-5a-reductase-inhibitors": ("lowers", "depressive-symptoms", "hair-loss-patients", {}),
    "avoid-chronic-heavy-alcohol": ("lowers", "allo-level", "people-with-alcohol-use-disorder", {}),
    "brexanolone": ("is-allopregnanolone", "depressive-symptoms", "postpartum-women",
                    {0: ("depressive-symptoms", "postpartum-women")}),
    "cofactors": ("raises-endogenous", "neurosteroid-levels", "any", {}),
    "dhea": ("raises-endogenous", "neurosteroid-levels", "men-on-trt", {}),
    "exercise": ("raises-endogenous", "allo-level", "general-adults", {}),
    "hcg-add-back-trt": ("preserves", "neurosteroid-levels", "men-on-trt", {}),
    "healthy-fats-cholesterol": ("raises-endogenous", "neurosteroid-levels", "any", {}),
    "low-dose-progesterone-trt": ("raises-endogenous", "allo-level", "men-on-trt", {}),
    "low-dose-ssris": ("raises-endogenous", "allo-level", "general-adults", {}),
    "lyt-300": ("is-allopregnanolone", "allo-level", "general-adults", {}),
    "omega-3-fatty-acids": ("raises-endogenous", "neurosteroid-levels", "any", {}),
    "oral-micronized-progesterone": ("raises-endogenous", "allo-level", "menopausal-women", {}),
    "palmitoylethanolamide": ("raises-endogenous", "allo-level", "general-adults", {}),
    "pregnenolone": ("raises-endogenous", "allo-level", "general-adults", {}),
    "sleep": ("preserves", "neurosteroid-levels", "any", {}),
    "stress-management": ("preserves", "allo-level", "general-adults", {}),
    "unregulated-injectable-allopregnanolone": ("is-allopregnanolone", "allo-level", "men-on-trt", {}),
    "zuranolone": ("mimics", "depressive-symptoms", "postpartum-women", {0: ("depressive-symptoms", "postpartum-women")}),
    # the test fixture
    "example-hormone": ("raises-endogenous", "allo-level", "general-adults", {}),
    "example-avoid": ("lowers", "allo-level", "men", {}),
}

#: (record id, claim id) -> (outcome or K, direction or K, population id)
CLAIMS: dict[tuple[str, str], tuple[str, str, str]] = {
    ("avoid-5a-reductase-inhibitors", "blocks-neurosteroid-synthesis"): (K, K, "women"),
    ("avoid-5a-reductase-inhibitors", "finasteride-inhibits-progesterone-to-dhp"): (K, K, "any"),
    ("avoid-5a-reductase-inhibitors", "neuropsychiatric-effects-pfs"): ("depressive-symptoms", "increases", "hair-loss-patients"),
    ("avoid-5a-reductase-inhibitors", "decreased-allo-dht-pregnenolone"): ("allo-level", K, "hair-loss-patients"),
    ("avoid-5a-reductase-inhibitors", "depression-64-vs-0"): ("depressive-symptoms", "increases", "hair-loss-patients"),
    ("avoid-5a-reductase-inhibitors", "suicidal-thoughts-44-vs-3"): (K, K, "hair-loss-patients"),
    ("avoid-5a-reductase-inhibitors", "finasteride-2-months-depression-scores"): ("depressive-symptoms", "increases", "hair-loss-patients"),
    ("avoid-5a-reductase-inhibitors", "absolutely-avoid-not-in-sources"): ("other", K, "men-on-trt"),
    ("avoid-5a-reductase-inhibitors", "strength-of-evidence"): (K, K, "any"),
    ("avoid-chronic-heavy-alcohol", "acute-alcohol-animals-not-humans"): (K, K, "general-adults"),
    ("avoid-chronic-heavy-alcohol", "tolerance-blunts-allo-response"): (K, K, "animals"),
    ("avoid-chronic-heavy-alcohol", "withdrawal-low-allo"): (K, K, "people-with-alcohol-use-disorder"),
    ("brexanolone", "synthetic-allopregnanolone"): (K, K, "postpartum-women"),
    ("brexanolone", "infusion-60-hours"): ("administration", K, "postpartum-women"),
    ("brexanolone", "sedation-rems"): ("adverse-effects", K, "postpartum-women"),
    ("cofactors", "zinc-magnesium-b-vitamins-c"): (K, K, "any"),
    ("dhea", "neurosteroid-milieu"): (K, K, "any"),
    ("dhea", "amygdala-connectivity-single-dose"): (K, K, "general-adults"),
    ("dhea", "trt-suppresses-dhea"): (K, K, "men-on-trt"),
    ("exercise", "aged-rodents-brain-allo"): (K, K, "animals"),
    ("exercise", "pain-relief-blocked"): (K, K, "animals"),
    ("exercise", "high-intensity-opioid-mediated"): (K, K, "animals"),
    ("exercise", "mild-exercise-via-allo"): (K, K, "animals"),
    ("exercise", "moderate-exercise-overtraining-cortisol"): (K, K, "any"),
    ("hcg-add-back-trt", "trt-suppresses-lh-fsh"): (K, K, "men"),
    ("hcg-add-back-trt", "lower-precursors-on-trt"): (K, K, "men-on-trt"),
    ("hcg-add-back-trt", "neurosteroid-deficit-hypothesis"): (K, K, "men-on-trt"),
    ("hcg-add-back-trt", "low-dose-hcg-maintains-intratesticular-t"): (K, K, "men"),
    ("healthy-fats-cholesterol", "cholesterol-starting-substrate"): (K, K, "any"),
    ("healthy-fats-cholesterol", "dietary-fat-not-shown"): (K, K, "any"),
    ("low-dose-progesterone-trt", "experimental-5-10-mg"): (K, K, "men-on-trt"),
    ("low-dose-progesterone-trt", "lowest-measured-dose-20-mg"): (K, K, "menopausal-women"),
    ("low-dose-progesterone-trt", "dht-competes-for-5a-reductase"): (K, K, "men-on-trt"),
    ("low-dose-ssris", "serotonin-independent-action"): (K, K, "animals"),
    ("low-dose-ssris", "km-10-30-fold"): (K, K, "cells"),
    ("low-dose-ssris", "fluoxetine-2-5-mg"): (K, K, "animals"),
    ("low-dose-ssris", "s-norfluoxetine-55x"): (K, K, "animals"),
    ("low-dose-ssris", "tricyclics-no-effect"): (K, K, "animals"),
    ("low-dose-ssris", "csf-normalization"): (K, K, "people-with-depression"),
    ("low-dose-ssris", "trt-low-dose-ssri-suggestion"): (K, K, "men-on-trt"),
    ("lyt-300", "oral-lipid-prodrug"): (K, K, "general-adults"),
    ("lyt-300", "ninefold-blood-levels"): (K, K, "general-adults"),
    ("omega-3-fatty-acids", "omega-3-neuroinflammation"): ("depressive-symptoms", "decreases", "any"),
    ("omega-3-fatty-acids", "ppar-nutrients-hypothesis"): (K, K, "any"),
    ("oral-micronized-progesterone", "hepatic-conversion-to-allopregnanolone"): (K, K, "any"),
    ("oral-micronized-progesterone", "prodrug"): (K, K, "menopausal-women"),
    ("oral-micronized-progesterone", "auc-196-percent"): (K, K, "menopausal-women"),
    ("oral-micronized-progesterone", "luteal-levels-100-300-mg"): ("neurosteroid-levels", K, "menopausal-women"),
    ("oral-micronized-progesterone", "sleep-300-mg-men"): (K, K, "men"),
    ("oral-micronized-progesterone", "sleep-postmenopausal-300-mg"): (K, K, "menopausal-women"),
    ("oral-micronized-progesterone", "creams-troches-bypass-first-pass"): (K, K, "any"),
    ("oral-micronized-progesterone", "low-dose-mood-worsening"): ("negative-mood", K, "menopausal-women"),
    ("palmitoylethanolamide", "pea-raises-brain-allo-mice"): (K, K, "animals"),
    ("palmitoylethanolamide", "pea-pregnenolone-progesterone-not-shown"): (K, K, "animals"),
    ("palmitoylethanolamide", "pea-food-sources"): (K, K, "any"),
    ("pregnenolone", "precursor-of-many-steroids"): (K, K, "any"),
    ("pregnenolone", "tripled-within-2-hours"): (K, K, "general-adults"),
    ("pregnenolone", "five-fold-500-mg"): (K, K, "people-with-bipolar-disorder"),
    ("pregnenolone", "progesterone-4x-pregnenolone-sulfate-3x"): (K, K, "any"),
    ("pregnenolone", "bipolar-depression-remission"): ("depressive-symptoms", K, "people-with-bipolar-disorder"),
    ("sleep", "sleep-7-9-hours"): (K, K, "any"),
    ("sleep", "sleep-disturbance-lower-neurosteroids"): (K, K, "any"),
    ("sleep", "bedtime-progesterone-sleep"): (K, K, "general-adults"),
    ("stress-management", "chronic-stress-lowers-allo"): (K, K, "animals"),
    ("stress-management", "acute-raises-chronic-depletes"): (K, K, "animals"),
    ("stress-management", "pregnenolone-steal-disputed"): (K, K, "any"),
    ("stress-management", "mind-body-lower-cortisol"): (K, K, "any"),
    ("zuranolone", "oral-analogue"): (K, K, "postpartum-women"),
    ("zuranolone", "course-14-days"): ("depressive-symptoms", "decreases", "people-with-depression"),
    # mechanisms
    ("5a-dhp-to-allopregnanolone", "3a-hsd-step"): (K, K, "any"),
    ("5a-dhp-to-allopregnanolone", "human-type-iii-isoform"): (K, K, "cells"),
    ("biphasic-effect", "luteal-1-5-2-nmol"): ("negative-mood", K, "menopausal-women"),
    ("biphasic-effect", "low-dose-progesterone-worsens-mood"): ("negative-mood", K, "menopausal-women"),
    ("dht-competes-for-5a-reductase", "burn-out-5a-reductase"): (K, K, "men-on-trt"),
    ("dht-competes-for-5a-reductase", "shared-enzyme"): (K, K, "any"),
    ("gaba-a-positive-modulation", "allo-positive-allosteric-modulator"): (K, K, "any"),
    ("gaba-a-positive-modulation", "potency-vs-benzodiazepines"): (K, K, "any"),
    ("gaba-a-positive-modulation", "key-effects"): (K, K, "any"),
    ("gaba-a-positive-modulation", "approved-gaba-a-modulators"): (K, K, "postpartum-women"),
    ("oral-first-pass-metabolism", "oral-prodrug"): (K, K, "menopausal-women"),
    ("oral-first-pass-metabolism", "liver-conversion"): (K, K, "any"),
    ("oral-first-pass-metabolism", "creams-troches-differ"): (K, K, "any"),
    ("ppar-neurosteroidogenesis", "pea-ppar-alpha-allo"): (K, K, "animals"),
    ("ppar-neurosteroidogenesis", "ppar-functional-foods-hypothesis"): (K, K, "any"),
    ("pregnenolone-steal", "steal-disputed"): (K, K, "any"),
    ("pregnenolone-steal", "shared-precursor"): (K, K, "any"),
    ("pregnenolone-to-progesterone", "cholesterol-de-novo"): (K, K, "any"),
    ("pregnenolone-to-progesterone", "precursor-of-several-steroids"): (K, K, "any"),
    ("pregnenolone-to-progesterone", "step-3b-hsd"): (K, K, "any"),
    ("progesterone-to-5a-dhp", "two-step-pathway"): (K, K, "any"),
    ("progesterone-to-5a-dhp", "5a-reductase-converts-progesterone"): (K, K, "women"),
    ("progesterone-to-5a-dhp", "rate-limiting"): (K, K, "any"),
    ("progesterone-to-5a-dhp", "inhibitors-block-step"): (K, K, "women"),
    ("ssri-3a-hsd-activation", "km-10-30-fold"): (K, K, "cells"),
    ("ssri-3a-hsd-activation", "serotonin-independent"): (K, K, "animals"),
    ("ssri-3a-hsd-activation", "doses-below-serotonergic"): (K, K, "animals"),
    ("ssri-3a-hsd-activation", "s-norfluoxetine-55x"): (K, K, "animals"),
    ("ssri-3a-hsd-activation", "tricyclics-no-effect"): (K, K, "animals"),
    ("ssri-3a-hsd-activation", "csf-normalization"): (K, K, "people-with-depression"),
    ("stress-acute-vs-chronic", "chronic-stress-downregulates"): (K, K, "animals"),
    ("stress-acute-vs-chronic", "acute-rise-chronic-fall"): (K, K, "animals"),
    ("trt-hpg-suppression", "lh-fsh-suppression"): (K, K, "men"),
    ("trt-hpg-suppression", "lower-upstream-hormones-on-trt"): (K, K, "men-on-trt"),
    ("trt-hpg-suppression", "trt-dhea-suppression"): (K, K, "men-on-trt"),
    ("trt-hpg-suppression", "deficient-neurosteroids-hypothesis"): (K, K, "men-on-trt"),
    # the test fixture
    ("example-hormone", "raises-level"): (K, K, "general-adults"),
    ("step-two", "second-step"): (K, K, "any"),
}

POPULATIONS = set(load_schema("common")["$defs"]["population"]["enum"])


def _value(line: str, key: str, value: str) -> str:
    """`line` (`<indent>key: old`) with its value replaced, in the file's quoting style."""
    match = re.match(rf"^(\s*(?:- )?){re.escape(key)}:\s*(\"?)[^\"#]*\"?(\s*(?:#.*)?)$", line)
    if not match:
        raise SystemExit(f"cannot edit line: {line!r}")
    quote = match.group(2)
    return f"{match.group(1)}{key}: {quote}{value}{quote}{match.group(3)}"


def _indent(line: str) -> str:
    spaces = len(line) - len(line.lstrip(" -"))
    return " " * spaces


def _quoted(line: str) -> bool:
    return ": \"" in line


def migrate_file(path: Path, kind: str) -> bool:
    text = path.read_text("utf-8")
    doc, problems = parse_yaml(text, str(path), kind, kind)
    if doc is None:
        raise SystemExit(f"{path}: cannot parse: {problems}")
    data: dict[str, Any] = doc.data
    lines = text.split("\n")
    edits: list[tuple[int, str, str]] = []  # (0-based line, "replace"|"insert-after", text)

    def line_of(path_: tuple[Any, ...], key: bool = False) -> int:
        return doc.location(path_, key=key).line - 1

    ident = data.get("id")
    if kind == "interventions" and ident in INTERVENTIONS:
        relation, main_outcome, main_population, approvals = INTERVENTIONS[ident]
        at = line_of(("direction",))
        quoted = _quoted(lines[at])
        q = '"' if quoted else ""
        if "main_outcome" not in data:
            edits.append((at, "insert-after", f"main_outcome: {{outcome: {q}{main_outcome}{q}, population: "
                                                f"{q}{main_population}{q}}}"))
        if "relation" not in data:
            edits.append((at, "insert-after", f"relation: {q}{relation}{q}"))
        for index, (outcome, population) in approvals.items():
            reg = data["regulatory"][index]
            if "outcome" in reg:
                continue
            at = line_of(("regulatory", index, "indication"))
            pad = _indent(lines[at])
            edits.append((at, "insert-after", f"{pad}population: {population}"))
            edits.append((at, "insert-after", f"{pad}outcome: {outcome}"))
    for i, claim in enumerate(data.get("claims", [])):
        decision = CLAIMS.get((ident, claim["id"]))
        if decision is None:
            raise SystemExit(f"{path}: no decision for claim `{claim['id']}`")
        outcome, direction, population = decision
        if outcome != K and claim["outcome"] != outcome:
            at = line_of(("claims", i, "outcome"))
            edits.append((at, "replace", _value(lines[at], "outcome", outcome)))
        if direction != K and claim["direction"] != direction:
            at = line_of(("claims", i, "direction"))
            edits.append((at, "replace", _value(lines[at], "direction", direction)))
        if claim.get("population") in POPULATIONS:
            continue  # migrated already
        out_line = lines[line_of(("claims", i, "outcome"))]
        pad = _indent(out_line)
        q = '"' if _quoted(out_line) else ""
        if "population" in claim:
            at = line_of(("claims", i, "population"), key=True)
            edits.append((at, "replace", lines[at].replace("population:", "population_note:", 1)))
        after = ("subjects",) if "subjects" in claim else ("population",) if "population" in claim else ("direction",)
        at = line_of(("claims", i, *after))
        edits.append((at, "insert-after", f"{pad}population: {q}{population}{q}"))
    if not edits:
        return False
    for at, how, new in sorted(edits, key=lambda e: (-e[0], e[1] != "replace")):
        if how == "replace":
            lines[at] = new
        else:
            lines.insert(at + 1, new)
    path.write_text("\n".join(lines), "utf-8")
    return True


def main(root: Path) -> None:
    for kind in ("interventions", "mechanisms"):
        folder = root / "content" / kind
        for path in sorted(folder.glob("*.yaml")):
            if migrate_file(path, kind):
                print(f"migrated {path.relative_to(root)}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path.cwd())
