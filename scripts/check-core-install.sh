#!/usr/bin/env bash
# The core install (no extras, so no torch) must give a working CLI for the data-only verbs.
# CI runs this after the test suite: a plain `pip install .` into a fresh venv, then, away from
# the checkout (so the installed package and its installed data files are what runs):
# --help, generators, corpus read, pack, and `run --check` on every shipped recipe.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
py=${1:-python3}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$py" -m venv "$tmp/venv"
"$tmp/venv/bin/python" -m pip install -q "$repo"
cd "$tmp"
bin="$tmp/venv/bin"
if "$bin/python" -c 'import torch' 2>/dev/null; then echo "core install: torch is installed, but the core must not need it" >&2; exit 1; fi
"$bin/mda-augment" --help >/dev/null
"$bin/mda-augment" generators | grep -q xml_nested_v1
mkdir texts
for i in $(seq 1 40); do printf 'document %s: the quick brown fox %.0s' "$i" $(seq 1 60) >"texts/d$i.txt"; done
"$bin/mda-augment" corpus read folder texts --out store >/dev/null
"$bin/mda-augment" pack store --out packed --tokenizer bpe-300 --seq-len 32 --heldout-fraction 0.1 >/dev/null
test -f packed/_COMPLETE.json
for recipe in "$repo"/recipes/*.yaml; do
    grep -q '^name:' "$recipe" || continue  # train-only recipes (nano-baseline) are TrainConfig files
    "$bin/mda-augment" run "$recipe" --check >/dev/null
done
echo "core install: --help, generators, corpus read, pack and run --check work without torch"
