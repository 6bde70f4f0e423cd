"""The bibliography exports read by the real tools their users cite with: pdflatex with BibTeX
and plain.bst, pdflatex with biblatex and biber, pandoc `--citeproc` (Debian's packages, which
`./tasks.sh test` installs). A missing tool FAILS these tests: CI must have them.

The CSL-JSON is validated against a JSON Schema written by us from the CSL 1.0.2 specification's
variables (tests/csl-data.ours.schema.json): no package registry ships the official
csl-data.json schema.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import jsonschema
import pytest

from allokb.render.bibtex import bibtex, latex_text, title_text
from conftest import TESTS, repo_result


def tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"`{name}` is not installed: `./tasks.sh test` installs it (Debian: pandoc, texlive-latex-base, "
                    "texlive-latex-recommended, texlive-bibtex-extra, biber)")
    return path


@pytest.fixture(scope="module")
def exported(repo_site: Path) -> tuple[Path, list[str]]:
    """The repository's two bibliography exports, as its site publishes them (the session's shared
    build, read-only: each test copies what a tool writes beside); and every key."""
    result = repo_result()
    assert not result.failed()
    folder = repo_site / "data"
    assert (folder / "references.bib").is_file() and (folder / "references.csl.json").is_file()
    return folder, sorted(result.kb.references)


def run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, encoding="utf-8", errors="replace",
                          timeout=300, check=False)


def errors(folder: Path, done: subprocess.CompletedProcess[str]) -> str:
    """The TeX errors of a failed run (lines starting with `!` and the line after), or its output."""
    log = folder / "doc.log"
    lines = log.read_text(encoding="utf-8", errors="replace").splitlines() if log.exists() else []
    found = [f"{line} {lines[i + 1] if i + 1 < len(lines) else ''}" for i, line in enumerate(lines) if line.startswith("!")]
    return "\n".join(found) or done.stdout[-2000:]


def latex(folder: Path, preamble: str, bibliography: str, backend: list[str]) -> str:
    """Compile a document citing every entry: pdflatex, the backend, pdflatex again (it typesets
    the bibliography the backend wrote: where its errors would show; a third run would only
    settle cross-references, which a document of `\\nocite{*}` has none of); the log."""
    (folder / "doc.tex").write_text("\\documentclass{article}\n" + preamble + "\\usepackage{hyperref}\n"
                                    "\\begin{document}\n\\nocite{*}\n" + bibliography + "\\end{document}\n")
    pdflatex = [tool("pdflatex"), "-interaction=nonstopmode", "-halt-on-error", "doc"]
    first = run(pdflatex, folder)
    assert first.returncode == 0, errors(folder, first)
    back = run(backend + ["doc"], folder)
    assert back.returncode in (0, 1), back.stdout[-2000:]  # 1: warnings (an entry without a volume)
    done = run(pdflatex, folder)
    assert done.returncode == 0, errors(folder, done)
    log = (folder / "doc.log").read_text(encoding="utf-8", errors="replace")
    assert [line for line in log.splitlines() if line.startswith("!")] == []
    assert "Unicode character" not in log
    return log


def test_pdflatex_and_bibtex_with_plain_bst(exported: tuple[Path, list[str]], tmp_path: Path) -> None:
    folder, keys = exported
    shutil.copy(folder / "references.bib", tmp_path / "references.bib")
    latex(tmp_path, "", "\\bibliographystyle{plain}\n\\bibliography{references}\n", [tool("bibtex")])
    blg = (tmp_path / "doc.blg").read_text(encoding="utf-8", errors="replace")
    assert "error message" not in blg and "I was expecting" not in blg
    bbl = (tmp_path / "doc.bbl").read_text(encoding="utf-8")
    assert sorted(re.findall(r"\\bibitem\{([^}]*)\}", bbl)) == keys
    assert "{U.S. Food and Drug Administration}." in bbl  # one corporate author, not two people
    assert "{PTSD}" in bbl  # an acronym keeps its capitals
    items = dict(re.findall(r"\\bibitem\{([^}]*)\}(.*?)(?=\\bibitem|\\end\{thebibliography\})", bbl, re.S))
    bib = (folder / "references.bib").read_text()
    online = re.findall(r"^@misc\{([a-z0-9]+),\n(?:  .*\n)*?  url = ", bib, re.M)
    assert online and [k for k in online if "\\url{" not in items[k]] == []  # its address, not a bare title


def test_pdflatex_and_biber_with_biblatex(exported: tuple[Path, list[str]], tmp_path: Path) -> None:
    folder, keys = exported
    shutil.copy(folder / "references.bib", tmp_path / "references.bib")
    latex(tmp_path, "\\usepackage[backend=biber]{biblatex}\n\\addbibresource{references.bib}\n",
          "\\printbibliography\n", [tool("biber"), "--quiet"])
    blg = (tmp_path / "doc.blg").read_text(encoding="utf-8", errors="replace")
    assert "ERROR" not in blg, blg
    bbl = (tmp_path / "doc.bbl").read_text(encoding="utf-8")
    assert sorted(re.findall(r"\\entry\{([^}]*)\}", bbl)) == keys


def citations(bibliography: Path, keys: list[str], tmp_path: Path) -> dict[str, str]:
    """Each key's in-text citation as pandoc's citeproc renders it (Chicago author-date)."""
    doc = tmp_path / f"{bibliography.name}.md"
    doc.write_text("".join(f"{key}: [@{key}]\n\n" for key in keys))
    done = run([tool("pandoc"), "--citeproc", f"--bibliography={bibliography}", "-t", "plain", "--wrap=none",
                str(doc)], tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""  # no "citation not found", no parse warning
    out = {}
    for line in done.stdout.splitlines():
        match = re.fullmatch(r"([a-z][a-z0-9]*): \((.*)\)", line)
        if match:
            out[match.group(1)] = match.group(2)
    return out


def test_pandoc_renders_every_key_alike_from_both_files(exported: tuple[Path, list[str]], tmp_path: Path) -> None:
    folder, keys = exported
    from_bib = citations(folder / "references.bib", keys, tmp_path)
    from_csl = citations(folder / "references.csl.json", keys, tmp_path)
    assert sorted(from_bib) == keys
    assert {k: from_csl[k] for k in keys} == {k: from_bib[k] for k in keys}
    assert from_bib["caruso2015patients"] == "Caruso et al. 2015"
    fda = [k for k in keys if "Food and Drug" in from_bib[k]]
    # The organisation is the author, whole ("2009", or ", n.d." for a label without a year).
    assert fda and all(re.match(r"U\.S\. Food and Drug Administration( \d{4}|, n\.d\.)", from_bib[k]) for k in fda)


def test_csl_json_validates_against_the_schema(exported: tuple[Path, list[str]]) -> None:
    folder, keys = exported
    schema = json.loads((TESTS / "csl-data.ours.schema.json").read_text())
    jsonschema.Draft7Validator.check_schema(schema)
    items = json.loads((folder / "references.csl.json").read_text())
    jsonschema.validate(items, schema)
    assert [i["id"] for i in items] == keys


def test_csl_json_has_the_authors_of_the_bibtex(exported: tuple[Path, list[str]]) -> None:
    folder, _ = exported
    items = {i["id"]: i for i in json.loads((folder / "references.csl.json").read_text())}
    bib = (folder / "references.bib").read_text()
    for key, author in re.findall(r"@\w+\{([a-z0-9]+),\n  author = \{(.*)\},\n", bib):
        names = [a.get("literal") or a["family"] for a in items[key]["author"]]
        assert len(names) == len(re.split(r" and (?![^{]*\})", author)), key
        if author.startswith("{{"):
            assert items[key]["author"] == [{"literal": names[0]}]
        if author.endswith(" and others"):
            assert items[key]["author"][-1] == {"literal": "others"}


# --- the encoding itself, without the tools ----------------------------------------------------

def test_non_ascii_and_latex_specials_are_written_as_latex() -> None:
    assert latex_text("5α-reductase, 3β") == "5{$\\alpha$}-reductase, 3{$\\beta$}"
    assert latex_text("Bäckström—Grön") == 'B{\\"a}ckstr{\\"o}m{---}Gr{\\"o}n'
    assert latex_text("\\input{/etc/passwd} 50% $x$ a_b #1 ~ ^") == (
        "{\\textbackslash}input{$\\lbrace$}/etc/passwd{$\\rbrace$} 50{\\%} {\\$}x{\\$} a{\\_}b {\\#}1 {\\textasciitilde} "
        "{\\textasciicircum}")
    assert latex_text("a<b 中") == "a{$<$}b {\\texttt{U+4E2D}}"


def test_title_words_that_a_style_would_lower_are_braced() -> None:
    assert title_text("Zuranolone for PTSD: SAGE-217 and GABAergic tone in 5α-Reductase mice") == (
        "Zuranolone for {PTSD}: {SAGE-217} and {GABAergic} tone in 5{$\\alpha$}-Reductase mice")
    # in a sentence-case title a capitalised word after the first is a proper name
    assert title_text("Effects of the drug in Alzheimer disease and in mice") == (
        "Effects of the drug in {Alzheimer} disease and in mice")


def test_the_export_is_sorted_and_stable(exported: tuple[Path, list[str]]) -> None:
    folder, keys = exported
    text = (folder / "references.bib").read_text()
    assert re.findall(r"^@\w+\{([a-z0-9]+),$", text, re.M) == keys
    assert set(re.findall(r"^@(\w+)\{", text, re.M)) <= {"article", "book", "incollection", "techreport", "misc"}
    assert text.isascii()
    result = repo_result()
    assert bibtex(result.kb.references.values()) == text


HOSTILE = ["\\input{/etc/passwd}\\write18{touch pwned}", "}, title = {injected", "100% & #1 $x^2$ a_b ~",
           "@misc{other, title={x}}", "\\", "{", "}}}", "5α/β – 中文 😀 <b>|</b>", "and others and", "\\end{document}"]


def test_hostile_text_is_inert_in_the_compiled_bibliography(tmp_path: Path) -> None:
    """Contributor text in every exported field compiles as text: no LaTeX runs, no entry breaks."""
    from allokb.diagnostics import Location
    from allokb.model import Reference

    refs = []
    for i, text in enumerate(HOSTILE):
        fields = tuple((f, text) for f in ("title", "journal", "year", "volume", "pages", "note"))
        fields += (("organization", "Org " + text),)
        refs.append(Reference(f"hostile{i}", "article" if i % 2 else "online",
                              fields + (("url", "https://example.org/a%20b#c{d}\\e~f^g"),),
                              # a name starting with a symbol (`\\`, α) breaks biber 2.18's initials: see bibtex.py
                              "{Org " + text.replace("{", "").replace("}", "") + "} and Doe, Jane" if i % 3 else None,
                              None, Location("references.bib", 1, 1)))
    text = bibtex(refs)
    assert text.isascii()
    (tmp_path / "references.bib").write_text(text)
    latex(tmp_path, "", "\\bibliographystyle{plain}\n\\bibliography{references}\n", [tool("bibtex")])
    bbl = (tmp_path / "doc.bbl").read_text()
    assert sorted(re.findall(r"\\bibitem\{([^}]*)\}", bbl)) == sorted(r.key for r in refs)
    assert not (tmp_path / "pwned").exists()
    other = tmp_path / "biblatex"
    other.mkdir()
    (other / "references.bib").write_text(text)
    latex(other, "\\usepackage[backend=biber]{biblatex}\n\\addbibresource{references.bib}\n",
          "\\printbibliography\n", [tool("biber"), "--quiet"])
    assert sorted(re.findall(r"\\entry\{([^}]*)\}", (other / "doc.bbl").read_text())) == sorted(r.key for r in refs)
