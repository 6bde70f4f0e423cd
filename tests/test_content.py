"""The repository's own knowledge base: it checks clean, validates, keeps its URLs and its link
hosts; every fact of the source post that the content issue names is in it, found by record id
and field (never by searching the repository's text); the evidence matrices of the real content
meet the issue's done-when checks and three of them are pinned. The code's own tests use the
fixtures; these tests change when the content does."""

from __future__ import annotations

import re
from typing import Any

import pytest

from allokb.model import Claim, Intervention
from allokb.grade import HUMAN_STUDIES, NOT_HUMAN, matrix_data
from allokb.linkhosts import load_link_hosts
from allokb.load import load_documents
from allokb.schema import check_document
from conftest import REPO, repo_result


class _RepositoryKB:
    """The repository's knowledge base, checked on first use (once per process)."""

    def __getattr__(self, name: str) -> Any:
        return getattr(repo_result().kb, name)


KB: Any = _RepositoryKB()


def intervention(ident: str) -> Intervention:
    return KB.interventions[ident]


def claim_of(record: Any, ident: str) -> Claim:
    matches = [c for c in record.claims if c.id == ident]
    assert matches, f"{record.id} has no claim `{ident}`"
    return matches[0]


def has(text: str | None, *needles: str) -> bool:
    flat = (text or "").replace("-", "–").replace("×", "x").lower()
    return all(n.replace("-", "–").lower() in flat for n in needles)


# (record kind, record id, claim id, field, the figures that field must state)
CLAIM_FACTS = [
    ("i", "oral-micronized-progesterone", "auc-196-percent", "size", ("196%",)),
    ("i", "low-dose-ssris", "km-10-30-fold", "size", ("10–30",)),
    ("i", "brexanolone", "infusion-60-hours", "duration", ("60",)),
    ("i", "zuranolone", "course-14-days", "duration", ("14 days",)),
    ("i", "lyt-300", "ninefold-blood-levels", "size", ("nine",)),
    ("i", "avoid-5a-reductase-inhibitors", "depression-64-vs-0", "size", ("64%",)),
    ("i", "avoid-5a-reductase-inhibitors", "suicidal-thoughts-44-vs-3", "size", ("44%", "3%")),
    ("m", "biphasic-effect", "luteal-1-5-2-nmol", "size", ("1.5–2 nmol/l",)),
    ("m", "ssri-3a-hsd-activation", "km-10-30-fold", "size", ("10–30",)),
]
# Figures of the post that no supporting quote of their claim states (issue 12: numbers traced,
# KB460): the claim keeps them only in the post's own words, its `seed.text`, shown as "The
# source post said", and no longer states them itself. (record kind, record id, claim id, figures)
POST_ONLY_FIGURES = [
    ("i", "oral-micronized-progesterone", "luteal-levels-100-300-mg", ("100-300 mg",)),
    ("i", "oral-micronized-progesterone", "sleep-300-mg-men", ("300 mg",)),
    ("i", "pregnenolone", "tripled-within-2-hours", ("400 mg",)),
    ("i", "pregnenolone", "five-fold-500-mg", ("five",)),
    ("i", "pregnenolone", "progesterone-4x-pregnenolone-sulfate-3x", ("4", "3")),
    ("i", "low-dose-ssris", "fluoxetine-2-5-mg", ("2.5 mg",)),
    ("i", "low-dose-ssris", "s-norfluoxetine-55x", ("55",)),
    ("i", "avoid-5a-reductase-inhibitors", "depression-64-vs-0", ("0%",)),
]
CLAIMS_PRESENT = [
    ("i", "low-dose-ssris", "tricyclics-no-effect"), ("i", "low-dose-ssris", "csf-normalization"),
    ("i", "avoid-5a-reductase-inhibitors", "decreased-allo-dht-pregnenolone"),
    ("i", "exercise", "aged-rodents-brain-allo"), ("i", "exercise", "pain-relief-blocked"),
    ("i", "sleep", "sleep-7-9-hours"),
]
# (intervention, population, amount)
DOSES = [
    ("oral-micronized-progesterone", "women", "50–200 mg"), ("oral-micronized-progesterone", "men", "5–10 mg"),
    ("pregnenolone", None, "10–30 mg"), ("pregnenolone", None, "10–50 mg"), ("pregnenolone", None, "100–500 mg"),
    ("pregnenolone", "men-on-trt", "25–50 mg"), ("dhea", "men", "25–50 mg"), ("dhea", "men-on-trt", "25–50 mg"),
    ("hcg-add-back-trt", "men-on-trt", "500–1500 IU"), ("low-dose-progesterone-trt", "men-on-trt", "5–10 mg"),
]
ANECDOTES = [
    ("pregnenolone", "unwell-after-5-days-50-mg"), ("pregnenolone", "unwell-even-small-amounts"),
    ("oral-micronized-progesterone", "mood-worse-oral-cream-sublingual"),
    ("unregulated-injectable-allopregnanolone", "vendor-injectable-allo"),
    ("hcg-add-back-trt", "normal-dhea-progesterone-without-hcg"),
]
INTERVENTIONS = ["oral-micronized-progesterone", "pregnenolone", "dhea", "low-dose-ssris", "brexanolone",
                 "zuranolone", "lyt-300", "exercise", "sleep", "stress-management", "palmitoylethanolamide",
                 "healthy-fats-cholesterol", "cofactors", "omega-3-fatty-acids", "hcg-add-back-trt",
                 "low-dose-progesterone-trt", "avoid-5a-reductase-inhibitors", "avoid-chronic-heavy-alcohol"]
MECHANISMS = ["progesterone-to-5a-dhp", "5a-dhp-to-allopregnanolone", "pregnenolone-to-progesterone",
              "gaba-a-positive-modulation", "biphasic-effect", "oral-first-pass-metabolism", "ssri-3a-hsd-activation",
              "stress-acute-vs-chronic", "pregnenolone-steal", "trt-hpg-suppression", "dht-competes-for-5a-reductase",
              "ppar-neurosteroidogenesis"]
SEED_RATINGS = {"oral-micronized-progesterone": "Strong", "pregnenolone": "Strong", "low-dose-ssris": "Strong",
                "zuranolone": "Strong (FDA)", "avoid-5a-reductase-inhibitors": "Strong", "hcg-add-back-trt": "Moderate",
                "exercise": "Moderate", "sleep": "Moderate", "dhea": "Moderate", "palmitoylethanolamide": "Preliminary"}


def test_every_intervention_and_mechanism_of_the_post() -> None:
    assert set(INTERVENTIONS) <= set(KB.interventions)
    assert set(MECHANISMS) <= set(KB.mechanisms)


@pytest.mark.parametrize("kind, record, claim, field, figures", CLAIM_FACTS)
def test_figure_of_the_post(kind: str, record: str, claim: str, field: str, figures: tuple[str, ...]) -> None:
    table: Any = KB.interventions if kind == "i" else KB.mechanisms
    found = claim_of(table[record], claim)
    assert has(getattr(found, field), *figures), (record, claim, field, getattr(found, field))
    assert found.seed is not None, "the post's own wording is kept"


@pytest.mark.parametrize("kind, record, claim, figures", POST_ONLY_FIGURES)
def test_figure_kept_as_the_posts(kind: str, record: str, claim: str, figures: tuple[str, ...]) -> None:
    table: Any = KB.interventions if kind == "i" else KB.mechanisms
    found = claim_of(table[record], claim)
    assert found.seed is not None and has(found.seed.text, *figures), (record, claim, found.seed)


@pytest.mark.parametrize("kind, record, claim", CLAIMS_PRESENT)
def test_claim_of_the_post(kind: str, record: str, claim: str) -> None:
    table: Any = KB.interventions if kind == "i" else KB.mechanisms
    assert claim_of(table[record], claim).citations


@pytest.mark.parametrize("record, population, amount", DOSES)
def test_dose_range_of_the_post(record: str, population: str | None, amount: str) -> None:
    doses = [d for d in intervention(record).dosing if has(d.amount, amount)
             and (population is None or d.population == population)]
    assert doses, (record, population, amount)
    assert all(d.reported_by.ref.target for d in doses)


@pytest.mark.parametrize("record, anecdote", ANECDOTES)
def test_readers_replies_are_labelled_anecdotes(record: str, anecdote: str) -> None:
    found = [a for a in intervention(record).anecdotes if a.id == anecdote]
    assert found and found[0].citation.ref.target == "vergel2026how"


def test_hcg_frequency_of_the_post() -> None:
    doses = [d for d in intervention("hcg-add-back-trt").dosing if has(d.amount, "500–1500 IU")]
    assert any(has(d.frequency, "2–3") for d in doses)


@pytest.mark.parametrize("record, year", [("brexanolone", 2019), ("zuranolone", 2023)])
def test_approvals_of_the_post(record: str, year: int) -> None:
    approvals = [r for r in intervention(record).regulatory if r.agency == "FDA" and r.status == "approved"]
    assert [r.year for r in approvals] == [year]
    assert re.search(r"postpartum depression", approvals[0].indication or "", re.I)


def test_summary_table_ratings_kept_as_the_posts() -> None:
    assert {k: KB.interventions[k].seed_rating.rating for k in SEED_RATINGS  # type: ignore[union-attr]
            } == SEED_RATINGS


def test_hair_loss_alternatives_of_the_post() -> None:
    names = " ".join(a.name for a in intervention("avoid-5a-reductase-inhibitors").alternatives).lower()
    assert "minoxidil" in names and "laser" in names and "topical finasteride" in names


def test_all_29_references_of_the_post_have_a_record() -> None:
    numbers = {c.seed.number for c in KB.citations.values() if c.seed} | \
        {n for c in KB.citations.values() for n in c.also_cited_as}
    assert set(range(1, 30)) <= numbers


def test_every_reference_has_an_identifier_and_a_verification_record() -> None:
    for key, ref in KB.references.items():
        citation = KB.citations[key]
        if citation.verification.status == "not-found" or not (ref.get("doi") or ref.get("pmid") or ref.get("url")):
            # a publication that was searched for and not found has no record to link to: what was
            # searched is its record instead
            assert citation.verification.searched and citation.verification.status in ("not-found", "unchecked",
                                                                                         "partly-verified"), key
        else:
            assert ref.get("doi") or ref.get("pmid") or ref.get("url"), key
        assert citation.verification.status in ("verified", "partly-verified", "not-found", "unchecked"), key
        if citation.verification.status in ("verified", "partly-verified"):
            assert citation.verification.checked_on and citation.verification.checked_against, key


# --- the whole knowledge base checks clean -------------------------------------------------------

def test_repository_content_checks_clean() -> None:
    result = repo_result()
    assert [d for d in result.diagnostics] == []


def test_content_validates_against_the_schemas() -> None:
    documents, problems = load_documents(REPO)
    assert problems == []
    for doc in documents:
        assert check_document(doc) == [], doc.path


def test_manifest_matches_the_repository() -> None:
    assert [d.code for d in repo_result().diagnostics if d.code in ("KB601", "KB602")] == []


# --- the repository's list of link hosts ----------------------------------------------------------------------

BRIEF = {
    "records": ["pubmed.ncbi.nlm.nih.gov", "www.ncbi.nlm.nih.gov", "pmc.ncbi.nlm.nih.gov", "doi.org", "dx.doi.org",
                "www.fda.gov", "accessdata.fda.gov", "dailymed.nlm.nih.gov", "clinicaltrials.gov",
                "www.frontiersin.org", "www.mdpi.com", "link.springer.com", "www.sciencedirect.com",
                "onlinelibrary.wiley.com", "www.pnas.org", "www.nejm.org", "jamanetwork.com", "psychiatryonline.org",
                "www.psychiatrist.com", "academic.oup.com", "journals.sagepub.com", "www.nature.com"],
    "aggregator": ["europepmc.org", "www.semanticscholar.org", "ouci.dntb.gov.ua", "scite.ai", "www.researchgate.net",
                   "readkong.com", "curehunter.com", "scholars.uthscsa.edu", "scholars.duke.edu"],
    "mirror": ["6ix.com", "everything.explained.today", "corsproxy.io", "dev2.psychiatrist.com",
               "cors-proxy-with-injection.vercel.app", "suppr.wilddata.cn", "cdn.suppr.wilddata.cn", "hacktech.info",
               "biotech-365.com"],
    "forum": ["www.excelmale.com", "forum.propeciahelp.com", "www.ironmagazineforums.com", "en.wikipedia.org"],
}


def test_the_repository_lists_the_hosts_links_may_point_at() -> None:
    hosts, problems = load_link_hosts(REPO)
    assert problems == []
    for kind, names in BRIEF.items():
        for host in names:
            found = hosts.classify(f"https://{host}/x")
            assert found is not None and found.kind == kind.removesuffix("s"), host
            assert found.why.strip()


# --- the evidence matrices of the real content (issue 13) ---------------------------------------

@pytest.fixture(scope="module")
def repo(repo_check: Any) -> Any:
    assert not repo_check.failed(strict=True)
    return repo_check


def _rows(repo: Any) -> list[tuple[str, dict[str, Any]]]:
    return [(ident, row) for ident, m in repo.grades.items() for row in matrix_data(repo.rubric, m)["rows"]]


def test_no_high_level_rests_on_one_study(repo: Any) -> None:
    for ident, row in _rows(repo):
        if row["level"] != "high":
            continue
        included = row["included"]
        approvals = [s for s in included if s["approval"]]
        primary = {s["id"] for s in included if s["design"] in HUMAN_STUDIES | NOT_HUMAN}
        meta = [s for s in included if s["design"] == "meta-analysis"]
        assert approvals or meta or len(primary) >= 2, (ident, row["anchor"])


def test_no_analogue_has_an_allo_level_row_above_very_low(repo: Any) -> None:
    mimics = [i for i, item in repo.kb.interventions.items() if item.relation == "mimics"]
    assert mimics == ["zuranolone"]
    for ident, row in _rows(repo):
        if ident in mimics and row["outcome"] == "allo-level":
            assert row["level"] in ("very-low", "none"), (ident, row["anchor"])


def test_every_row_lists_its_studies_and_participants(repo: Any) -> None:
    for ident, row in _rows(repo):
        assert isinstance(row["studies"], int) and row["studies"] == len(row["included"]), (ident, row["anchor"])
        assert row["participants"] is None or isinstance(row["participants"], int)
        assert row["sources"] == sorted({k for s in row["included"] for k in s["sources"]})
        assert (row["level"] == "none") == (row["studies"] == 0)


def test_every_claim_names_an_outcome_and_a_population_of_the_vocabularies(repo: Any) -> None:
    claims = [c for item in [*repo.kb.interventions.values(), *repo.kb.mechanisms.values()] for c in item.claims]
    assert claims and all(c.outcome in repo.rubric.outcomes and c.population in repo.rubric.populations
                          for c in claims)
    assert all(i.relation in repo.rubric.relations for i in repo.kb.interventions.values())


def _pin(repo: Any, ident: str) -> list[tuple[Any, ...]]:
    m = matrix_data(repo.rubric, repo.grades[ident])
    return [(r["outcome"], r["population"], r["level"], r["studies"], r["participants"],
             tuple(s["rule"] for s in r["trail"] if s["change"])) for r in m["rows"]]


def test_brexanolone_matrix_is_pinned(repo: Any) -> None:
    assert _pin(repo, "brexanolone") == [
        ("depressive-symptoms", "postpartum-women", "high", 3, 21, ()),
        ("adverse-effects", "postpartum-women", "moderate", 2, None, ("single-study",)),
    ]
    main = matrix_data(repo.rubric, repo.grades["brexanolone"])["main"]
    assert (main["title"], main["level_label"]) == ("Depressive symptoms, postpartum women", "High")


def test_pregnenolone_matrix_is_pinned(repo: Any) -> None:
    assert _pin(repo, "pregnenolone") == [
        ("allo-level", "general-adults", "none", 0, None, ()),
        ("allo-level", "people-with-bipolar-disorder", "very-low", 1, 73,
         ("risk-of-bias-some-concerns", "partial-support", "imprecision")),
        ("neurosteroid-levels", "any", "very-low", 1, 73,
         ("risk-of-bias-some-concerns", "partial-support", "imprecision")),
        ("depressive-symptoms", "people-with-bipolar-disorder", "very-low", 2, 104,
         ("risk-of-bias-some-concerns", "inconsistency", "imprecision")),
    ]


def test_oral_micronized_progesterone_matrix_is_pinned(repo: Any) -> None:
    assert _pin(repo, "oral-micronized-progesterone") == [
        ("allo-level", "women", "very-low", 1, 18, ("risk-of-bias-unchecked", "indirect")),
        ("allo-level", "menopausal-women", "very-low", 3, 62, ("risk-of-bias-unchecked", "indirect", "imprecision")),
        ("neurosteroid-levels", "menopausal-women", "very-low", 2, 10, ("risk-of-bias-high",)),
        ("negative-mood", "menopausal-women", "very-low", 1, 43,
         ("risk-of-bias-some-concerns", "inconsistency", "imprecision")),
        ("sleep", "men", "very-low", 2, 9, ("risk-of-bias-some-concerns", "partial-support")),
        ("sleep", "menopausal-women", "very-low", 1, 10,
         ("risk-of-bias-some-concerns", "imprecision", "small-study")),
        ("cognition", "women", "very-low", 1, 18, ("risk-of-bias-unchecked", "indirect")),
    ]
