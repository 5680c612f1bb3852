#!/usr/bin/env bash
# Build blasad with AddressSanitizer + UndefinedBehaviorSanitizer into a fresh virtual
# environment and run the whole test suite (and the demo) under it. Linux (gcc or clang).
#
#   tools/sanitize.sh              # the whole suite
#   tools/sanitize.sh -k gemm      # extra arguments are pytest options
#   BLASAD_SANITIZE_TESTS="tests/test_robustness.py tests/test_semantics.py" tools/sanitize.sh
#   BLASAD_SANITIZE_KEEP=1 tools/sanitize.sh   # keep the build and venv (the path is printed)
#
# The build happens in a copy of the working tree (tracked and untracked, non-ignored files),
# so the sanitized objects never mix with a normal build of the checkout. Exits non-zero on any
# sanitizer report (UBSan is fatal: -fno-sanitize-recover=undefined) or test failure.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$SECONDS

if [ "$(uname -s)" != "Linux" ]; then
    echo "tools/sanitize.sh: Linux only (it preloads the ASan runtime with LD_PRELOAD)" >&2
    exit 2
fi
python=${PYTHON:-python3}
work="$(mktemp -d "${TMPDIR:-/tmp}/blasad-sanitize.XXXXXX")"
if [ "${BLASAD_SANITIZE_KEEP:-0}" = 1 ]; then
    echo "tools/sanitize.sh: keeping $work"
else
    trap 'rm -rf "$work"' EXIT
fi

# 1. a copy of the working tree
mkdir "$work/src"
git ls-files -z --cached --others --exclude-standard \
    | while IFS= read -r -d '' f; do if [ -f "$f" ]; then printf '%s\0' "$f"; fi; done \
    | tar --null -cf - -T - | tar -xf - -C "$work/src"

# 2. a fresh venv with the sanitized build
"$python" -m venv "$work/venv"
# shellcheck disable=SC1091
. "$work/venv/bin/activate"
python -m pip install --quiet --upgrade pip
BLASAD_SANITIZE=1 python -m pip install --quiet --no-cache-dir "$work/src[test]"

# (found without importing blasad: the sanitized extension loads only with the runtime preloaded)
ext="$(python -c 'import glob, sysconfig; print(*glob.glob(sysconfig.get_paths()["platlib"] + "/blasad/_native*.so"))')"
cc="${CC:-$(python -c 'import sysconfig; print((sysconfig.get_config_var("CC") or "gcc").split()[0])')}"
asan_rt="$("$cc" -print-file-name=libasan.so)"
if [[ "$(ldd "$ext")" != *libasan* ]]; then  # (not `ldd | grep -q`: with pipefail, ldd's SIGPIPE fails it)
    echo "tools/sanitize.sh: $ext is not linked against libasan: the sanitizer build did not happen" >&2
    exit 1
fi
if [ ! -e "$asan_rt" ]; then
    echo "tools/sanitize.sh: no ASan runtime from $cc -print-file-name=libasan.so" >&2
    exit 1
fi
echo "sanitized build: $ext (runtime $asan_rt), built in $((SECONDS - start)) s"

# 3. the tests and the demo under ASan + UBSan. CPython is not instrumented: preload the runtime,
#    leave leak detection off (the interpreter keeps memory until exit), and route Python's own
#    allocations through malloc so that ASan sees every heap block.
export LD_PRELOAD="$asan_rt"
export ASAN_OPTIONS="detect_leaks=0:abort_on_error=0:halt_on_error=1:exitcode=86:strict_string_checks=1:detect_stack_use_after_return=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:exitcode=87"
export PYTHONMALLOC=malloc
export OPENBLAS_NUM_THREADS="${OPENBLAS_NUM_THREADS:-2}"
cd "$work/src"
t0=$SECONDS
# tests/test_memory.py measures RSS: it runs apart, without ASan's quarantine of freed blocks
# (which holds up to 256 MB of freed memory back from the system, by design).
run_pytest() {  # pytest's exit status 5 (no test selected, e.g. by -k) is not a failure here
    local rc=0
    # --capture=sys: pytest captures Python's output only, so that a sanitizer report (written to
    # file descriptor 2 just before the process ends) is shown
    python -m pytest -q -p no:cacheprovider --capture=sys "$@" || rc=$?
    if [ "$rc" -ne 0 ] && [ "$rc" -ne 5 ]; then
        echo "tools/sanitize.sh: FAILED (pytest exit status $rc; 86: ASan report, 87: UBSan report)" >&2
        exit "$rc"
    fi
}
# BLASAD_SANITIZE_TESTS: the test files (or folders) to run, relative to the checkout; default tests
read -r -a selection <<<"${BLASAD_SANITIZE_TESTS:-tests}"
others=()
memory=0
for t in "${selection[@]}"; do
    case "${t%/}" in
        tests) others+=("$t"); memory=1 ;;
        tests/test_memory.py) memory=1 ;;  # (--ignore does not drop a file named on the command line)
        *) others+=("$t") ;;
    esac
done
if [ "${#others[@]}" -gt 0 ]; then
    run_pytest "${others[@]}" --ignore=tests/test_memory.py "$@"
fi
if [ "$memory" = 1 ]; then
    ASAN_OPTIONS="$ASAN_OPTIONS:quarantine_size_mb=0" run_pytest tests/test_memory.py "$@"
fi
python -m blasad >/dev/null
echo "tools/sanitize.sh: OK (tests and demo clean under ASan+UBSan); tests $((SECONDS - t0)) s, total $((SECONDS - start)) s"
