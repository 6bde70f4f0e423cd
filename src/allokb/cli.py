"""Command line: a thin layer over the library (`allokb check|build|serve|new|codes`).

Exit status: 0 success, 1 content errors (or a failed build), 2 usage errors. Errors that
abort a command (`KbError`) are shown as one line without a traceback.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from allokb import __version__
from allokb.diagnostics import KbError, UsageError
from allokb.project import check_project
from allokb.diagnostics import printable
from allokb.report import FORMATS, render

EXIT_OK, EXIT_ERRORS, EXIT_USAGE = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    """argparse with usage errors raised as `UsageError` (exit 2, one line)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{message}\n{self.format_usage().strip()}")


def _project_root(value: str) -> Path:
    root = Path(value).resolve()
    if not root.is_dir():
        raise UsageError(f"{printable(value)}: no such folder")
    if not ((root / "content").is_dir() or (root / "references.bib").exists() or (root / "mkdocs.yml").exists()):
        raise UsageError(f"{printable(value)}: not an allokb project (no content/, references.bib or mkdocs.yml)")
    return root


def build_parser() -> argparse.ArgumentParser:
    """The argument parser; its help texts are the CLI documentation."""
    parser = _Parser(prog="allokb", description="Check, build and serve the Allopregnanolone Evidence Atlas.")
    parser.add_argument("--version", action="version", version=f"allokb {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    check = sub.add_parser("check", help="validate the knowledge base and report every problem")
    check.add_argument("root", nargs="?", default=".", help="project folder (default: current folder)")
    check.add_argument("--format", choices=FORMATS, default="text", help="report format (default: text)")
    check.add_argument("--strict", action="store_true", help="fail on warnings as well as errors")
    check.add_argument("--no-cache", action="store_true",
                       help="load every file, and keep nothing for the next check (see `allokb.checkcache`)")

    build = sub.add_parser("build", help="check, then build the site with a strict MkDocs build")
    build.add_argument("root", nargs="?", default=".", help="project folder (default: current folder)")
    build.add_argument("--site-dir", default=None, help="output folder (default: site/ in the project)")
    build.add_argument("--format", choices=FORMATS, default="text", help="diagnostics format (default: text)")
    build.add_argument("--no-cache", action="store_true", help="check without the kept loading, as `check --no-cache`")

    serve = sub.add_parser("serve", help="live preview; edits to content, references.bib or templates rebuild")
    serve.add_argument("root", nargs="?", default=".", help="project folder (default: current folder)")
    serve.add_argument("--dev-addr", default="127.0.0.1:8000", help="address to serve on (default: 127.0.0.1:8000)")

    new = sub.add_parser("new", help="write a commented, valid entry to start from")
    new.add_argument("kind", help="intervention, mechanism or citation")
    new.add_argument("id", help="the id (or, for a citation, the bib key)")
    new.add_argument("--root", default=".", help="project folder (default: current folder)")

    urls = sub.add_parser("urls", help="list the URLs the site publishes; --write adds new ones to urls.txt")
    urls.add_argument("root", nargs="?", default=".", help="project folder (default: current folder)")
    urls.add_argument("--write", action="store_true", help="add the URLs that urls.txt does not list yet")

    report = sub.add_parser("report", help="print a report: `corrections` lists every correction to the source post")
    report.add_argument("name", choices=["corrections"], help="which report")
    report.add_argument("root", nargs="?", default=".", help="project folder (default: current folder)")
    report.add_argument("--format", choices=["text", "json"], default="text", help="report format (default: text)")

    sub.add_parser("codes", help="list every diagnostic code with its documentation")
    rename = sub.add_parser("rename-key", help="give a reference a new bib key; its old URL keeps answering")
    rename.add_argument("old", help="the key the reference has now")
    rename.add_argument("new", help="the key it should have")
    rename.add_argument("--root", default=".", help="project folder (default: current folder)")
    register_remote(sub)  # add-reference, verify --online
    return parser


def run() -> None:
    """The `allokb` command (and `python -m allokb`): `main`, then the process ends at once.

    A check of a large knowledge base leaves millions of objects that live to the end (the last
    check's memos); freeing them one by one at exit, and the collector's last pass over them, took
    5 s after a 10 s check of 10,000 real-size entries. Every command has finished its work when
    `main` returns (files written and renamed, temporary folders removed, worker processes
    joined), so what is left to do is to flush the output: then `os._exit`, as mypy does."""
    status = main()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (BrokenPipeError, ValueError):  # the reader went away; a closed stream
            pass
    logging.shutdown()
    os._exit(status)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    try:
        args = build_parser().parse_args(argv)
        if args.command is None:
            build_parser().print_help()
            return EXIT_USAGE
        return int(_COMMANDS[args.command](args))
    except UsageError as exc:
        print(printable(f"allokb: usage error: {exc}", lines=True), file=sys.stderr)
        return EXIT_USAGE
    except KbError as exc:
        print(printable(f"allokb: error: {exc}", lines=True), file=sys.stderr)
        return EXIT_ERRORS
    except KeyboardInterrupt:
        print("allokb: interrupted; nothing was written", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader went away (`allokb report corrections | head`)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except OSError as exc:  # the file system said no (a file where a folder should be, a full disk)
        where = f"{exc.filename}: " if exc.filename is not None else ""
        print(printable(f"allokb: error: {where}{exc.strerror or exc}"), file=sys.stderr)
        return EXIT_ERRORS


def _cmd_check(args: argparse.Namespace) -> int:
    root = _project_root(args.root)
    result = check_project(root, stored=not args.no_cache)
    sys.stdout.write(render(result.diagnostics, args.format, result.files, args.strict))
    return EXIT_ERRORS if result.failed(args.strict) else EXIT_OK


#: what stderr says when a build stopped at a stage, after the report on stdout
_STOPPED = {"check": "build not started: fix the errors above; the previous site is unchanged",
            "render": "build failed: fix the errors above; the previous site is unchanged",
            "audit": "build failed: the post-build audit found unsafe HTML (above); the previous site is unchanged"}


def _cmd_build(args: argparse.Namespace) -> int:
    from allokb.build import build  # MkDocs is imported only by the commands that need it
    from allokb.output import check_site_dir, resolve_site_dir
    from allokb.progress import make_progress

    root = _project_root(args.root)
    site_dir = resolve_site_dir(args.site_dir if args.site_dir else root / "site")
    check_site_dir(site_dir, root)  # before any work: a folder the build may not replace is a usage error
    _log_to_stderr()
    result = build(root, site_dir, progress=make_progress(sys.stderr, "build", "pages written", None),
                   stored=not args.no_cache)
    if result.failed:
        # Reported as `check` reports its own, in the format asked for.
        verb = "check" if result.stage == "check" else "build"
        sys.stdout.write(render(result.diagnostics, args.format, result.files, False, verb=verb))
        print(f"allokb: {_STOPPED[result.stage]}", file=sys.stderr)
        return EXIT_ERRORS
    print(f"allokb: site built in {site_dir}", file=sys.stderr)
    return EXIT_OK


def _cmd_serve(args: argparse.Namespace) -> int:
    from allokb import site, sink

    root = _project_root(args.root)
    host, port = site.dev_address(args.dev_addr)
    where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    site._check_bind(host, port, where)  # before the first build, which takes a while
    _log_to_stderr()
    sink.serve(root, where, [str(root / p) for p in site.WATCHED if (root / p).exists()])
    return EXIT_OK


class _StderrHandler(logging.Handler):
    """MkDocs' log lines on whatever sys.stderr is at the time (progress for the user)."""

    def emit(self, record: logging.LogRecord) -> None:
        sys.stderr.write(f"{record.levelname:<7} -  {record.getMessage()}\n")


def _log_to_stderr() -> None:
    """Show MkDocs' log (the "mkdocs" logger) on stderr, once."""
    os.environ.setdefault("NO_MKDOCS_2_WARNING", "1")  # Material's banner is not actionable per build
    logger = logging.getLogger("mkdocs")
    if not any(isinstance(h, _StderrHandler) for h in logger.handlers):
        logger.addHandler(_StderrHandler())
        logger.setLevel(logging.INFO)
        logger.propagate = False


def print_hashes(argv: Sequence[str]) -> int:
    """`python -m allokb.audit --print-hashes SITE`: the inline scripts of a built site, with their
    hashes and whether `allokb.audit.THEME_INLINE_SCRIPTS` lists them."""
    from allokb.audit import THEME_INLINE_SCRIPTS, inline_scripts

    args = list(argv)
    if len(args) != 2 or args[0] != "--print-hashes" or not Path(args[1]).is_dir():
        print("usage: python -m allokb.audit --print-hashes SITE_DIR", file=sys.stderr)
        return EXIT_USAGE
    for digest, (count, start) in sorted(inline_scripts(Path(args[1])).items()):
        listed = "listed" if digest in THEME_INLINE_SCRIPTS else "NOT LISTED"
        print(f"{digest}  {count:5} pages  {listed:10}  {start}")
    return EXIT_OK


def _cmd_new(args: argparse.Namespace) -> int:
    from allokb.scaffold import scaffold

    root = _project_root(args.root)
    path = scaffold(root, args.kind, args.id)
    print(f"wrote {path.relative_to(root).as_posix()}; run `allokb check` after editing it")
    return EXIT_OK


def _cmd_urls(args: argparse.Namespace) -> int:
    from allokb.urls import MANIFEST, write_manifest

    root = _project_root(args.root)
    result = check_project(root)
    # A URL that would disappear, or a manifest that is missing, does not stop the listing or
    # the writing of the manifest; any other error does.
    if any(d.code not in ("KB601", "KB603") for d in result.diagnostics if d.severity.value == "error"):
        sys.stdout.write(render(result.diagnostics, "text", result.files, False))
        print("allokb: fix the errors above first; urls.txt is unchanged", file=sys.stderr)
        return EXIT_ERRORS
    assert result.urls is not None
    if args.write:
        added = write_manifest(root, result.urls)
        print(f"{MANIFEST}: {added} URL{'s' * (added != 1)} added")
        return EXIT_OK
    for url in sorted(result.urls.urls):
        print(url)
    for old, new in result.urls.redirects.items():
        print(f"{old} -> {new}")
    return EXIT_OK


def _cmd_report(args: argparse.Namespace) -> int:
    import dataclasses
    import json

    from allokb.corrections import collect_corrections

    root = _project_root(args.root)
    result = check_project(root)
    if result.failed():
        sys.stdout.write(render(result.diagnostics, "text", result.files, False))
        print("allokb: fix the errors above first", file=sys.stderr)
        return EXIT_ERRORS
    found = collect_corrections(result.kb)
    if args.format == "json":
        payload = {"totals": found.totals, "references": [dataclasses.asdict(r) for r in found.references],
                   "claims": [dataclasses.asdict(c) for c in found.claims]}
        print(json.dumps(payload, indent=2, ensure_ascii=False))
        return EXIT_OK
    print("Corrections to the source post's references")
    for ref in found.references:
        for c in ref.corrections:
            print(f"[{ref.number}] {ref.key} {c.field}: the post says {c.seed!r}; the record says {c.record!r}"
                  + (f" (evidence: {c.evidence})" if c.evidence else ""))
        if ref.status == "not-found":
            print(f"[{ref.number}] {ref.key}: no matching publication was found")
    print("\nClaims whose cited source does not (fully) support them")
    for c in found.claims:
        better = f"; supported by {', '.join(c.better_sources)}" if c.better_sources else ""
        print(f"{c.kind}s/{c.record_id}#claim-{c.claim_id} cites [{', '.join(map(str, c.post_refs))}] "
              f"{c.cited_key}: {c.support}" + (f" (evidence: {c.evidence})" if c.evidence else "") + better)
    t = found.totals
    print(f"\nreferences: {t['seed_refs']} in the post, {t['checked']} checked, {t['verified']} fully verified, "
          f"{t['corrected']} with corrected metadata, {t['not_found']} not found")
    print(f"claim citations: {t['claims']} checked against the cited source: {t['supported']} supported, "
          f"{t['partial']} partial, {t['not_supported']} not supported, {t['unchecked']} unchecked")
    return EXIT_OK


def _cmd_rename_key(args: argparse.Namespace) -> int:
    from allokb.rename import rename_key

    root = _project_root(args.root)
    for line in rename_key(root, args.old, args.new):
        print(printable(line))
    print(f"renamed `{args.old}` to `{args.new}`; run `allokb check`")
    return EXIT_OK


def _cmd_codes(args: argparse.Namespace) -> int:
    from allokb.rules import catalogue

    for info in catalogue().values():
        print(f"{info.code} {info.severity.value:7} {info.title}: {info.doc}")
    return EXIT_OK


def register_remote(sub: Any) -> None:
    """Add `add-reference` and `verify` to the subcommands `sub` of the allokb parser."""
    add = sub.add_parser("add-reference", help="add a reference from its DOI, PMID or PMCID (fetched online)")
    ident = add.add_mutually_exclusive_group(required=True)
    ident.add_argument("--doi", help="a DOI, e.g. 10.5555/example")
    ident.add_argument("--pmid", help="a PubMed id, e.g. 99999901")
    ident.add_argument("--pmcid", help="a PubMed Central id, e.g. PMC9999901")
    add.add_argument("--key", default=None, help="the bib key (default: surname + year + first title word)")
    add.add_argument("--root", default=".", help="project folder (default: current folder)")

    verify = sub.add_parser("verify", help="compare references.bib with Crossref and PubMed (--online)")
    verify.add_argument("root", nargs="?", default=".", help="project folder (default: current folder)")
    verify.add_argument("--online", action="store_true", help="fetch each record online (the only mode)")
    verify.add_argument("--format", choices=FORMATS, default="text", help="report format (default: text)")
    verify.add_argument("--refresh", action="store_true", help="ignore cached answers and ask again")
    verify.add_argument("--write", action=argparse.BooleanOptionalAction, default=True,
                        help="rewrite the committed PubMed abstracts (content/sources/) that changed, and add those "
                        "of quoted references that have none (default); --no-write only reports")


def run_add_reference(args: argparse.Namespace) -> int:
    """`allokb add-reference (--doi D | --pmid N | --pmcid PMCN) [--key K] [--root R]`."""
    from allokb.remote import Client
    from allokb.remote_verify import add_reference

    root = _project_root(args.root)
    key, bib_path, cite_path = add_reference(root, args.doi, args.pmid, args.pmcid, Client(), key=args.key)
    source = f"content/sources/{key}.md"
    also = f" and {source} (its PubMed abstract)" if os.path.lexists(root / source) else ""
    print(f"added `{key}` to {bib_path.relative_to(root).as_posix()} and wrote "
          f"{cite_path.relative_to(root).as_posix()}{also}; set its design and findings, then run `allokb check`")
    return EXIT_OK


def run_verify(args: argparse.Namespace) -> int:
    """`allokb verify --online [ROOT] [--format F] [--refresh] [--no-write]`: the source texts'
    lines (stdout in text format, else stderr), then the diagnostics; exit 1 when anything was
    reported (a warning, a source text that changed or would change, a request that failed)."""
    from allokb.progress import make_progress
    from allokb.remote import Client
    from allokb.remote_verify import verify_project

    if not args.online:
        raise UsageError("verify needs --online (the only mode): `allokb verify --online ROOT` fetches every "
                         "DOI and PMID of references.bib from Crossref and PubMed")
    root = _project_root(args.root)
    result = check_project(root)
    try:
        found = verify_project(root, result, Client(refresh=args.refresh), make_progress(sys.stderr),
                               write=args.write)
    except KeyboardInterrupt:
        sys.stderr.write("\n" if sys.stderr.isatty() else "")  # end the progress bar's line
        raise
    lines = "".join(printable(line) + "\n" for line in found.refresh.lines())
    (sys.stdout if args.format == "text" else sys.stderr).write(lines)
    sys.stdout.write(render(found.diagnostics, args.format, result.files, True))
    return EXIT_ERRORS if found.reported else EXIT_OK


_COMMANDS = {"check": _cmd_check, "build": _cmd_build, "serve": _cmd_serve, "new": _cmd_new, "urls": _cmd_urls,
             "report": _cmd_report, "codes": _cmd_codes, "rename-key": _cmd_rename_key, "add-reference": run_add_reference, "verify": run_verify}
