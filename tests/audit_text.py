"""The post-build audit's messages as a reader of its output sees them, written out here (not
imported from allokb.audit) so that a change of wording fails the tests that pin it:
tests/security/test_audit.py and tests/test_page_cost.py."""

SITE_URL = "https://allo-atlas.github.io/atlas/"
HINT = ("(a source let raw HTML reach the page: escape it where it is rendered, or remove it from the "
        "hand-written page)")
SCRIPT_HINT = ("(if the theme was upgraded, compare `python -m allokb.audit --print-hashes SITE` with "
               "THEME_INLINE_SCRIPTS in src/allokb/audit.py; otherwise a source let a script reach the page)")
ALERT = "sha256-bhHHL3z2vDgxUt0W3dWQOrprscmda2Y5pLsLg4GF+pI="  # of `alert(1)`
