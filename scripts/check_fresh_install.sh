#!/usr/bin/env bash
# A fresh venv with `pip install .` (no extras) runs every stage of the demo config, shortened, including
# `embedding_init: focus` (numpy + scipy from the core dependencies). CI: `bash scripts/check_fresh_install.sh`
# (a few minutes on 2 cores once wheels are cached). torch from a local wheel when there is one.
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=${WORK:-$(mktemp -d)}
PY=${PYTHON:-python3}
$PY -m venv "$WORK/venv"
V="$WORK/venv/bin"
if ls /opt/wheels/torch-*.whl >/dev/null 2>&1; then
  "$V/pip" install -q --no-index --no-deps /opt/wheels/torch-*.whl
  "$V/pip" install -q filelock typing-extensions sympy networkx jinja2 fsspec  # torch's own requirements
else
  "$V/pip" install -q torch --extra-index-url https://download.pytorch.org/whl/cpu
fi
"$V/pip" install -q .
"$V/python" -c "import lontar, scipy.sparse.linalg, numpy; assert 'site-packages' in lontar.__file__, lontar.__file__"
SET=(--config configs/km-tiny.yaml --set name=fresh-install --set "output_dir=$WORK/runs"
     --set corpus.sources.0.max_docs=3000 --set corpus.near_dedup.enabled=false
     --set tokenizer.vocab_size=1000 --set tokenizer.embedding_init=focus
     --set train.max_steps=6 --set train.log_every=2 --set train.eval_every=3 --set train.save_every=0
     --set eval.max_docs=30 --set eval.limit=20)
cd "$WORK"  # not the checkout: the installed package only (the task files are read from the checkout's configs)
export PYTHONPATH=
R=$OLDPWD
L="$V/lontar"
"$L" corpus "${SET[@]/configs\/km-tiny.yaml/$R/configs/km-tiny.yaml}"
"$L" tokenizer "${SET[@]/configs\/km-tiny.yaml/$R/configs/km-tiny.yaml}"
"$L" train "${SET[@]/configs\/km-tiny.yaml/$R/configs/km-tiny.yaml}"
"$L" eval "${SET[@]/configs\/km-tiny.yaml/$R/configs/km-tiny.yaml}" --set "eval.tasks_dir=$R/configs/tasks"
"$L" publish "${SET[@]/configs\/km-tiny.yaml/$R/configs/km-tiny.yaml}"
test -s "$WORK/runs/fresh-install/eval/results.json"
echo "fresh install: every stage ran ($WORK)"
