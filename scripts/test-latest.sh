#!/usr/bin/env bash
# make test-latest: a throw-away venv with the newest release of every dependency (torch held at the lock's
# CPU build: a newer one is a multi-GB CUDA download here), the test suite, and which versions moved.
set -u
py=$1 extras=$2 hed=$3
venv=.venv-latest
rm -rf "$venv" && "$py" -m venv "$venv" && "$venv/bin/pip" install -q --upgrade pip setuptools || exit 2
torch=$(grep -E '^torch==' requirements.lock | head -1 | cut -d';' -f1)
"$venv/bin/pip" install -q "$torch" && "$venv/bin/pip" install -q --upgrade -e ".[$extras]" \
  && "$venv/bin/pip" install -q --no-deps "$hed" || { echo "test-latest: install of the newest releases failed"; exit 1; }
"$venv/bin/python" scripts/lock.py diff
"$venv/bin/python" -m pytest -q -p no:cacheprovider -rfE > "$venv/pytest.log" 2>&1
rc=$?
grep -E "^(FAILED|ERROR) " "$venv/pytest.log" | cut -c1-200
tail -1 "$venv/pytest.log"
[ "$rc" = 0 ] && echo "test-latest: the suite passes on the newest releases" \
  || echo "test-latest: the suite FAILS on the newest releases (above); pin or fix before running make lock UPGRADE=1"
exit "$rc"
