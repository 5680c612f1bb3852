#!/usr/bin/env bash
# Run the demo (`python -m blasad`: record, copy-on-write, reverse sweep, gradcheck) under
# valgrind's memcheck. Exits non-zero on any memcheck error or a failing demo.
#
#   tools/valgrind.sh                      # the python on PATH (an activated venv with blasad)
#   PYTHON=.venv/bin/python tools/valgrind.sh
#   tools/valgrind.sh -m pytest tests/test_robustness.py -q -x    # other arguments replace "-m blasad"
#
# CPython's small-object allocator is switched off (PYTHONMALLOC=malloc) so that memcheck sees
# every block; tools/valgrind.supp holds the suppressions for what remains of CPython's and
# OpenBLAS's known noise. Leak checking is off: the interpreter keeps memory until exit.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$SECONDS
python=${PYTHON:-python}
command -v valgrind >/dev/null || { echo "tools/valgrind.sh: valgrind is not installed" >&2; exit 2; }
"$python" -c 'import blasad' || { echo "tools/valgrind.sh: $python cannot import blasad" >&2; exit 2; }
[ $# -gt 0 ] || set -- -m blasad

export PYTHONMALLOC=malloc
export OPENBLAS_NUM_THREADS="${OPENBLAS_NUM_THREADS:-1}"
# run from a folder outside the checkout, so that `-m blasad` imports the installed package
cd "$(mktemp -d)"
valgrind --tool=memcheck --error-exitcode=99 --leak-check=no --track-origins=yes \
    --num-callers=30 --suppressions="$OLDPWD/tools/valgrind.supp" --gen-suppressions=all \
    "$python" "$@"
echo "tools/valgrind.sh: OK (no memcheck errors) in $((SECONDS - start)) s"
