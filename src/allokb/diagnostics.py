"""Diagnostics: located, coded findings about the knowledge base, and the error tree.

Every stage reports problems as `Diagnostic` values; only `report` formats them.
The catalogue of codes lives in `CODES`: each code has its severity, a title and a paragraph of
documentation, except that a code reported by a rule function of `allokb.rules` is documented by
that function's docstring alone (its entry here names the function). `allokb.rules.catalogue()`
joins the two; the codes page and `allokb codes` are generated from it.
"""

from __future__ import annotations

import difflib
import enum
from collections import Counter, defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass


def fast_pickle(cls: type) -> type:
    """Pickle a slotted dataclass as (class, field values): several times cheaper than the
    default, which matters when a process pool returns tens of thousands of records."""

    def __reduce__(self: object) -> tuple[object, ...]:
        return (type(self), tuple(getattr(self, name) for name in cls.__slots__))  # type: ignore[attr-defined]

    cls.__reduce__ = __reduce__  # type: ignore[method-assign,assignment]
    return cls


class Severity(enum.Enum):
    """How bad a diagnostic is: errors fail `check`; warnings fail it under `--strict`."""

    ERROR = "error"
    WARNING = "warning"


@fast_pickle
@dataclass(frozen=True, order=True, slots=True)
class Location:
    """Where a diagnostic points: a file relative to the project root, 1-based line and column,
    and a JSONPath into the document (``$`` for the whole document)."""

    file: str
    line: int = 1
    col: int = 1
    yaml_path: str = "$"


@fast_pickle
@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One finding: a stable code, a severity, a message saying what was expected and what was
    found, where it is, and an optional hint saying how to fix it."""

    code: str
    severity: Severity
    message: str
    location: Location
    hint: str | None = None

    def sort_key(self) -> tuple[str, int, int, str, str]:
        """Order diagnostics by file, position, code and message, for deterministic output."""
        loc = self.location
        return (loc.file, loc.line, loc.col, self.code, self.message)


@fast_pickle
@dataclass(frozen=True, slots=True)
class CodeInfo:
    """The documentation of one diagnostic code."""

    code: str
    severity: Severity
    title: str
    doc: str


def _code(code: str, severity: Severity, title: str, doc: str = "") -> CodeInfo:
    return CodeInfo(code, severity, title, " ".join(doc.split()))


E, W = Severity.ERROR, Severity.WARNING

CODES: dict[str, CodeInfo] = {
    c.code: c
    for c in [
        # KB1xx: loading files
        _code("KB101", E, "file cannot be read as UTF-8 text",
              "Content files must be UTF-8. The location is the first byte that is not valid UTF-8."),
        _code("KB102", E, "YAML syntax error",
              "The file is not valid YAML. The message is the parser's, placed where it stopped."),
        _code("KB103", E, "tab character in indentation",
              "YAML forbids tabs for indentation. Replace the tab with spaces."),
        _code("KB104", E, "duplicate key",
              "A mapping has the same key twice. YAML parsers silently keep the last value, so the "
              "first one would be lost; the project treats it as an error."),
        _code("KB105", E, "YAML anchor or alias",
              "Anchors (&name) and aliases (*name) are not allowed in content files: every value "
              "must be readable where it stands, and aliases allow 'billion laughs' expansion."),
        _code("KB106", E, "file too large",
              "A content file is larger than the limit (1 MiB for YAML, 32 MiB for references.bib, 5 MiB "
              "for urls.txt). "
              "Split the entry or remove pasted material."),
        _code("KB107", E, "empty file",
              "The file holds no YAML document (only whitespace or comments)."),
        _code("KB108", E, "more than one YAML document",
              "A content file holds exactly one document; a second `---` starts another."),
        _code("KB109", E, "ambiguous plain scalar",
              "An unquoted value that YAML 1.1 readers (PyYAML and many others) would turn into a "
              "boolean or a date, such as `no`, `yes`, `on` or `2024-01-01`. Quote it to keep it a "
              "string, or write `true`/`false` for a boolean."),
        _code("KB110", E, "unexpected file in a content folder",
              "Content folders hold only `.yaml` files (and `content/pages/` only Markdown)."),
        _code("KB111", E, "YAML tag not allowed",
              "Explicit tags such as `!!python/object` or `!!binary` are not allowed; write plain values."),
        _code("KB112", E, "not a regular file",
              "The project reads only regular files and real folders: a symbolic link (to a file or a folder, "
              "or a loop), a named pipe (FIFO), a device or a socket among the content, references.bib, "
              "content/rubric.yaml, urls.txt, content/pages/, site_templates/ or CONTRIBUTING.md is refused where "
              "it stands. It is never followed, opened or waited on, so a link cannot publish the file it points "
              "to. Replace the link by the file itself."),
        _code("KB113", E, "file or folder cannot be read",
              "The file or folder exists but cannot be read (permission denied). Make it readable, or remove it."),
        _code("KB114", W, "file in a subfolder of a content folder",
              "Entries live directly in content/interventions/, content/mechanisms/ and content/citations/; a "
              "file in a subfolder of one of them is not loaded. Move it up, or out of content/."),
        _code("KB115", E, "control or invisible character in text",
              "Text may not hold control characters (other than tab and line break), the line and paragraph "
              "separators U+2028 and U+2029, bidirectional controls (U+202A-U+202E, U+2066-U+2069 and the marks "
              "U+200E, U+200F, U+061C: they make text display in another order than it is read) or noncharacters "
              "(U+FDD0-U+FDEF, U+FFFE, U+FFFF and their equivalents in every plane). This holds for every value "
              "and key of the YAML files, every field of references.bib (written raw or made by its LaTeX), "
              "urls.txt and the hand-written pages. The message names the character by its code point; "
              "the location is the value that holds it (in text files, the character itself)."),
        _code("KB116", E, "number out of range",
              "A whole number must lie within 9,007,199,254,740,991 of 0 (2^53 - 1, the range every JSON "
              "reader holds exactly: the site's data is read by JavaScript), and a decimal number must be "
              "finite and, if not zero, not so small that it would be read as zero. Quote the value if it "
              "is text."),
        _code("KB117", E, "front matter of a page not allowed",
              "The front matter of a page in content/pages/ (the YAML between `---` lines at its top) is read "
              "strictly and may hold only `title` and `description` (text) and `hide` (a list of: feedback, "
              "footer, navigation, path, tags, toc). `template` is refused: every page is laid out by the "
              "theme's template. MkDocs would also read `Key: value` lines at the top of a page without front "
              "matter as metadata; start the page with a heading instead."),
        # KB2xx: schema
        _code("KB201", E, "wrong type",
              "A value has the wrong type, for example a number where text is expected. Quote "
              "text that looks like a number (`\"1.10\"`)."),
        _code("KB202", E, "missing required field", "A field that every record of this kind needs is absent."),
        _code("KB203", E, "unknown field",
              "A field that the schema does not define. Check its spelling (a suggestion is given "
              "when one is close)."),
        _code("KB204", E, "value not allowed",
              "The value is not one of the allowed values listed in the message."),
        _code("KB205", E, "value does not match the expected form",
              "The value does not match the required pattern, e.g. an id that is not lower-case "
              "kebab-case or a date that is not YYYY-MM-DD."),
        _code("KB206", E, "value out of bounds",
              "A text is empty or too long, a list is empty or repeats an item, or a number is out of range."),
        _code("KB207", E, "id does not match the file name"),  # doc: allokb.rules.links.check_file_names
        _code("KB208", E, "schema violation",
              "The record breaks a schema constraint not covered by a more specific code."),
        _code("KB209", E, "rubric inconsistent",
              "content/rubric.yaml names a level, a study design or a rate-down rule that does not exist, or "
              "leaves a design without a starting level."),
        # KB3xx: cross-references
        _code("KB301", E, "unknown mechanism"),  # doc: allokb.rules.links.check_mechanism_links
        _code("KB302", E, "unknown intervention"),  # doc: allokb.rules.links.check_intervention_links
        _code("KB303", E, "unknown reference key"),  # doc: allokb.rules.links.check_reference_links
        _code("KB304", E, "duplicate id"),  # doc: allokb.rules.links.check_duplicate_ids
        _code("KB305", E, "citation record without a reference"),  # doc: allokb.rules.links.check_citations_have_references
        _code("KB306", W, "reference without a citation record"),  # doc: allokb.rules.links.check_references_have_citations
        _code("KB307", E, "record refers to itself"),  # doc: allokb.rules.records.check_self_links
        _code("KB308", E, "duplicate claim id"),  # doc: allokb.rules.records.check_claim_ids
        _code("KB310", E, "reserved id"),  # doc: allokb.rules.links.check_reserved_ids
        _code("KB311", E, "former id conflict"),  # doc: allokb.rules.links.check_former_ids
        # KB4xx: references and citations
        _code("KB401", E, "references.bib cannot be parsed",
              "bibtexparser could not parse this block of references.bib."),
        _code("KB402", E, "duplicate bib key", "Two entries in references.bib have the same key."),
        _code("KB403", E, "missing bibliographic field"),  # doc: allokb.rules.bibliography.check_required_fields
        _code("KB404", E, "malformed DOI",
              "A DOI must look like `10.NNNN/suffix`, without a `https://doi.org/` prefix."),
        _code("KB405", E, "malformed PMID", "A PubMed id is a positive whole number of at most 9 digits."),
        _code("KB406", E, "malformed PMCID", "A PubMed Central id looks like `PMC1234567`."),
        _code("KB407", E, "one publication under two keys"),  # doc: allokb.rules.bibliography.check_duplicate_publications
        _code("KB408", W, "reference cited nowhere"),  # doc: allokb.rules.bibliography.check_cited_nowhere
        _code("KB409", E, "malformed bib key",
              "Bib keys are lower-case ASCII: first author's surname, year and first significant "
              "title word, e.g. `griffin1999selective`."),
        _code("KB410", E, "supporting citation without a quote"),  # doc: allokb.rules.records.check_quotes
        _code("KB411", E, "year is not a year", "The `year` of a bib entry must be four digits."),
        _code("KB415", E, "a correction that corrects nothing"),  # doc: allokb.rules.bibliography.check_empty_corrections
        _code("KB420", W, "hand-written grade differs from the computed one"),  # doc: allokb.rules.grades.check_hand_grades
        _code("KB430", W, "bibliographic record differs online",
              "`allokb verify --online` found a field of a references.bib entry (first three author surnames, "
              "title, journal, year, volume, pages, DOI, PMID or PMCID) that differs from the Crossref or PubMed "
              "record, or a DOI or PMID that the service does not know. Check the publication and correct the entry."),
        _code("KB431", W, "reference is retracted",
              "PubMed lists the publication as a Retracted Publication, or Crossref links a retraction notice to it. "
              "Review every claim that cites it and set `retraction: retracted` in its citation record."),
        _code("KB432", W, "reference has a correction",
              "Crossref or PubMed links an erratum or correction to the publication. Read it, check the claims "
              "that cite the source, and set `retraction: corrected` in its citation record."),
        _code("KB433", W, "quote not found in the PubMed abstract",
              "A citation marked `supported` or `partial` of a reference with a PMID quotes words that the PubMed "
              "abstract does not contain (compared as KB440 compares a quote with a committed source text). Correct the "
              "quote, or give a `locator` other than the abstract if the words are from the full text."),
        _code("KB434", W, "quote lost by a refreshed source text",
              "`allokb verify --online` refreshed a reference's committed PubMed abstract (`content/sources/<bibkey>.md`, "
              "rewritten when PubMed's abstract changed, or added for a quoted reference with a PMID and no text), and "
              "a quote that the old text held (or, for a new text, any quote of the reference) is not in the new one. "
              "`allokb check` reports it as KB440 from now on (with `--no-write`: once the text is refreshed). Correct "
              "the quote from the new text, or give the `locator` of the passage it comes from. Texts of another "
              "kind (full-text, label, web-page) and abstracts from elsewhere are hand-kept: verify never rewrites them."),
        _code("KB440", E, "quote not found in its source text"),  # doc: allokb.rules.sources.check_source_quotes
        _code("KB441", E, "source text malformed",
              "A source text is `content/sources/<bibkey>.md`: a header between `---` lines with `url` (the http(s) "
              "URL it was retrieved from), `retrieved` (the date, YYYY-MM-DD) and `kind` (`abstract`, `full-text`, "
              "`label` or `web-page`), and no other key, then the text as retrieved, not empty. The header is read "
              "by the strict YAML loader."),
        _code("KB442", E, "source text of an unknown reference"),  # doc: allokb.rules.sources.check_source_keys
        _code("KB450", E, "publication typed as a web page"),  # doc: allokb.rules.bibliography.check_publication_type
        _code("KB451", E, "article without authors, journal or year"),  # doc: allokb.rules.bibliography.check_article_fields
        _code("KB452", W, "\"others\" as the only co-author"),  # doc: allokb.rules.bibliography.check_others
        _code("KB453", W, "link that is not a record of the publication"),  # doc: allokb.rules.bibliography.check_record_links
        _code("KB454", W, "aggregator listed before any record"),  # doc: allokb.rules.bibliography.check_record_first
        _code("KB455", W, "bib key does not match its entry"),  # doc: allokb.rules.bibliography.check_key
        _code("KB456", E, "link-hosts.yaml lists a host twice",
              "A host (or `*.domain` pattern) appears twice in content/link-hosts.yaml, in one list or in two: "
              "it can be of one kind only. Keep it on one list."),
        _code("KB412", E, "unsafe URL",
              "URLs must be http(s). `javascript:`, `data:` and other schemes are rejected."),
        _code("KB413", E, "bib field cannot be decoded",
              "A field of references.bib holds LaTeX that cannot be turned into text: a macro without its "
              "arguments (`\\href`, `\\verb`), or braces nested more than 32 deep. Write the text in plain "
              "Unicode instead (`ü`, `–`, `α`)."),
        _code("KB414", E, "TeX that could run, in references.bib",
              "references.bib is published for readers to cite with LaTeX, so it may not hold TeX that does "
              "more than typeset text: commands that read or write files or run programs (`\\input`, "
              "`\\write18`), define or redefine commands (`\\def`, `\\newcommand`), change category codes, "
              "the `^^` character notation, or an `@preamble` block, which BibTeX copies into every "
              "document that cites the file. Accents and symbols (`{\\\"u}`, `\\alpha`) are fine."),
        _code("KB460", E, "number in a claim that none of its quotes states"),  # doc: allokb.rules.numbers.check_numbers_quoted
        _code("KB461", E, "derived number without its arithmetic, or stale"),  # doc: allokb.rules.numbers.check_derived_numbers
        _code("KB480", W, "intervention without a bottom line"),  # doc: allokb.rules.readers.check_has_bottom_line
        _code("KB481", E, "bottom line too long"),  # doc: allokb.rules.readers.check_bottom_line_length
        _code("KB482", E, "bottom line with too many sentences"),  # doc: allokb.rules.readers.check_bottom_line_sentences
        _code("KB483", W, "bottom line hard to read"),  # doc: allokb.rules.readers.check_bottom_line_reading
        _code("KB484", E, "bottom line links a claim that does not exist"),  # doc: allokb.rules.readers.check_bottom_line_links
        _code("KB485", W, "maintainers' words on a reader's page"),  # doc: allokb.rules.readers.check_vocabulary
        _code("KB486", E, "claim heading too long"),  # doc: allokb.rules.readers.check_heading_length
        _code("KB487", E, "number in a bottom line or heading that no quote states"),  # doc: allokb.rules.readers.check_numbers_traced
        _code("KB470", E, "vocabulary differs from the schema",
              "A vocabulary of content/rubric.yaml (`outcomes`, `populations`, `relations`) must define every value "
              "the record schemas allow for it, each once, and nothing else: the matrix draws its rows, columns and "
              "wording from it."),
        _code("KB471", E, "main outcome not graded"),  # doc: allokb.rules.grades.check_main_outcome_graded
        _code("KB472", E, "approval counts nowhere"),  # doc: allokb.rules.grades.check_approvals_graded
        _code("KB490", E, "label summary not from a label"),  # doc: allokb.rules.safety.check_label_is_regulatory
        _code("KB491", E, "label summary quotes another source"),  # doc: allokb.rules.safety.check_label_quotes_label
        _code("KB492", E, "label summary section without a checked quote"),  # doc: allokb.rules.safety.check_label_sections_quoted
        _code("KB494", E, "dose support that does not state the dose"),  # doc: allokb.rules.safety.check_dose_support
        # KB530-KB534: an entry's `changes` (doc: allokb.rules.changes)
        _code("KB530", E, "changes not newest first"),
        _code("KB531", E, "change dated on a day that does not exist"),
        _code("KB532", E, "change dated in the future"),
        _code("KB533", E, "change without a summary"),
        _code("KB534", E, "change summary too long"),
        # KB6xx: published URLs
        _code("KB601", E, "published URL would disappear"),  # doc: allokb.rules.urls.check_urls_kept
        _code("KB602", W, "URL not in the manifest"),  # doc: allokb.rules.urls.check_urls_listed
        _code("KB603", E, "URL manifest missing"),  # doc: allokb.rules.urls.check_manifest_kept
        _code("KB604", E, "hand-written page shadowed"),  # doc: allokb.rules.urls.check_shadowed_pages
        # KB5xx: rendering
        _code("KB501", E, "template error",
              "A Jinja template in site_templates/ has a syntax error or uses a name its context does not "
              "provide. Nothing is written; the previous site stays as it was."),
        _code("KB510", E, "unsafe HTML in a built page",
              "The post-build audit parses every page the build wrote with an HTML5 parser, as a browser "
              "would, and found something able to run code or reach another host: a `script` element that is not "
              "one of the theme's (an inline script whose hash is not on the allowlist in "
              "src/allokb/audit.py, or an external one that is not a file of this site), an `on*` attribute, "
              "a `javascript:`, `vbscript:` or `data:` URL, an `iframe`, `object`, `embed`, `base`, frame, "
              "applet or `template` element, a refresh to another site, an SVG animation of a link, or an "
              "image, stylesheet, script or other resource from another host (links to other sites are "
              "fine). The message names the page and the element; the build fails and the previous site "
              "stays. A source let raw HTML through: escape it where it is rendered, or remove it from the "
              "hand-written page. After a theme upgrade, list the new inline scripts with "
              "`python -m allokb.audit --print-hashes SITE` and update the allowlist once they are read."),
        _code("KB511", E, "page without the site's Content-Security-Policy",
              "Every page (other than a redirect page) must open its `head` with `meta charset` and then "
              "the Content-Security-Policy `meta` element that the theme override writes, with exactly the policy of "
              "allokb.audit.content_security_policy(): scripts from this site and the theme's own inline "
              "scripts only, no plugins, no `base`. A theme upgrade that moves `meta charset` or a template "
              "that drops the block shows up here."),
    ]
}


class KbError(Exception):
    """An error that aborts a command; shown to the user as one line, without a traceback."""


class UsageError(KbError):
    """The command line is wrong (exit status 2)."""


class DiagnosticError(KbError):
    """A stage stopped on located problems: it carries them as `Diagnostic` values, so that the
    caller reports them as data (`allokb build --format json`), not as a string. Its text, for
    a caller that shows it as one error, is one `file:line:col: message` line per problem."""

    def __init__(self, diagnostics: Iterable[Diagnostic]) -> None:
        self.diagnostics = tuple(diagnostics)
        super().__init__("\n".join(f"{d.location.file}:{d.location.line}:{d.location.col}: {d.message}"
                                   for d in self.diagnostics))

    def __reduce__(self) -> tuple[type, tuple[tuple[Diagnostic, ...]]]:  # made again from its diagnostics (from a worker: allokb.parallel)
        return (type(self), (self.diagnostics,))


def make(code: str, message: str, location: Location, hint: str | None = None) -> Diagnostic:
    """Build a diagnostic with the severity registered for `code`."""
    return Diagnostic(code, CODES[code].severity, message, location, hint)


_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def printable(text: str, *, lines: bool = False) -> str:
    """`text` with every character that is not printable (control characters, line separators,
    format characters such as bidirectional overrides, unassigned code points) written as an
    escape: `\\n`, `\\x1b`, `\\u202e`. A diagnostic never prints such a character raw: a file name
    with a newline cannot forge a second diagnostic, an ESC cannot drive the terminal. With
    `lines`, line breaks are kept (an error message of several lines)."""
    if text.isprintable():
        return text
    if lines:
        return "\n".join(printable(part) for part in text.split("\n"))
    return "".join(char if char.isprintable() else _escape(char) for char in text)


#: a value quoted in a message: the same escaping
shown = printable


def _escape(char: str) -> str:
    code = ord(char)
    if char in _ESCAPES:
        return _ESCAPES[char]
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


class Suggester:
    """The closest of a fixed set of choices to a word, for "did you mean" hints.

    Closeness is difflib's ratio, at least `CUTOFF`, and the answer is the one
    `difflib.get_close_matches(word, pool, n=1)` gives, computed with early stopping: choices are
    tried in order of difflib's cheap upper bound (`quick_ratio`), and the search ends when no
    untried choice can beat the best so far. The pool is every choice up to `EXHAUSTIVE` of them
    (the answer is then exactly difflib's); above, it is the `CANDIDATES` choices that share the
    most trigrams with the word, counted from an index built on the first question, over the
    word's rarest trigrams first, within `BUDGET` index entries. Built once per set of choices and
    asked once per misspelt word, it stays near-linear where asking difflib about every choice
    for every word was quadratic (3,000 dangling links against as many ids took minutes).
    Answers are remembered per word, and ties go to the greater string, as in difflib.
    """

    CUTOFF = 0.6
    EXHAUSTIVE = 16
    CANDIDATES = 16
    BUDGET = 1024

    def __init__(self, choices: Collection[str]) -> None:
        self._source = choices  # read on the first question: most checks never ask one
        self._choices: list[str] | None = None
        self._index: dict[str, list[int]] | None = None
        self._answers: dict[str, str | None] = {}

    @staticmethod
    def _trigrams(word: str) -> set[str]:
        padded = f"\x02{word}\x03"  # marks the ends, so that prefixes and suffixes count
        return {padded[i:i + 3] for i in range(len(padded) - 2)}

    def _pool(self, word: str) -> list[str]:
        if self._choices is None:
            self._choices = sorted(set(self._source))
        if len(self._choices) <= self.EXHAUSTIVE:
            return self._choices
        if self._index is None:
            index: dict[str, list[int]] = defaultdict(list)
            for i, choice in enumerate(self._choices):
                for gram in sorted(self._trigrams(choice)):
                    index[gram].append(i)
            self._index = dict(index)
        # Rarest trigrams first (ties by the trigram itself, never by set order: the hint must
        # not depend on the hash seed).
        grams = sorted((len(self._index[g]), g) for g in self._trigrams(word) if g in self._index)
        counts: Counter[int] = Counter()
        spent = 0
        for size, gram in grams:
            if spent and spent + size > self.BUDGET:
                break
            counts.update(self._index[gram])
            spent += size
        return [self._choices[i] for i, _ in counts.most_common(self.CANDIDATES)]

    def closest(self, word: str) -> str | None:
        """The closest choice, or None when none is close enough."""
        if word in self._answers:
            return self._answers[word]
        matcher = difflib.SequenceMatcher(None, "", word)  # difflib indexes the second sequence once
        bounds = []
        for choice in self._pool(word):
            matcher.set_seq1(choice)
            if matcher.real_quick_ratio() >= self.CUTOFF:
                bound = matcher.quick_ratio()
                if bound >= self.CUTOFF:
                    bounds.append((bound, choice))
        best: tuple[float, str] | None = None
        for bound, choice in sorted(bounds, reverse=True):
            if best is not None and bound < best[0]:
                break  # ratio <= quick_ratio: nothing left can beat the best
            matcher.set_seq1(choice)
            score = matcher.ratio()
            if score >= self.CUTOFF and (best is None or (score, choice) > best):
                best = (score, choice)
        self._answers[word] = best[1] if best else None
        return self._answers[word]

    def hint(self, word: str) -> str | None:
        """A 'did you mean' hint naming the closest choice, or None."""
        close = self.closest(word)
        return f"did you mean `{close}`?" if close is not None else None


def did_you_mean(word: str, choices: Collection[str]) -> str | None:
    """Return a 'did you mean' hint naming the closest choice, or None when nothing is close.
    To ask about many words, build one `Suggester` and ask it each."""
    return Suggester(choices).hint(word)


def sorted_diagnostics(diagnostics: Iterable[Diagnostic]) -> list[Diagnostic]:
    """Sort and de-duplicate diagnostics for stable output."""
    return sorted(set(diagnostics), key=Diagnostic.sort_key)
