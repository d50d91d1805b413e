#!/bin/sh
# all-pythons.sh — end-to-end tests on every installed pyenv CPython 3.8-3.13
# (make test-all-pythons, CI). Builds each into build/py<version>; skips
# versions that are not installed; fails if any version fails.
set -u
PYENV_ROOT=${PYENV_ROOT:-$HOME/.pyenv}
failed=""
ran=0
for minor in 8 9 10 11 12 13; do
	# newest installed patch release of 3.<minor>
	dir=$(ls -d "$PYENV_ROOT"/versions/3."$minor".* 2>/dev/null | sort -t. -k3 -n | tail -n 1)
	py="$dir/bin/python3"
	if [ -z "$dir" ] || [ ! -x "$py" ]; then
		echo "all-pythons: 3.$minor not installed, skipped"
		continue
	fi
	ver=$(basename "$dir")
	echo "all-pythons: === $ver ==="
	ran=$((ran + 1))
	if ! make -s PYTHON="$py" BUILD="build/py$ver" all; then
		failed="$failed $ver(build)"
		continue
	fi
	if ! "$py" tests/e2e/run.py --build "build/py$ver" --python "$py"; then
		failed="$failed $ver"
	fi
done
if [ "$ran" -eq 0 ]; then
	echo "all-pythons: no CPython 3.8-3.13 found under $PYENV_ROOT/versions" >&2
	exit 1
fi
if [ -n "$failed" ]; then
	echo "all-pythons: FAILED:$failed" >&2
	exit 1
fi
echo "all-pythons: all $ran versions passed"
