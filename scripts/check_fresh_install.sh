#!/usr/bin/env bash
# A fresh venv with `pip install .` (no extras) runs every stage of the demo config, shortened, including
# `tokenizer.embedding_init: focus` (numpy + scipy from the core dependencies). Run in CI or by hand:
#   bash scripts/check_fresh_install.sh        (a few minutes on 2 cores once wheels are cached)
# Two runs of configs/km-tiny.yaml: the first (scratch tokenizer, random-init model) leaves a base model folder
# with a SentencePiece tokenizer; the second extends that base's tokenizer with FOCUS-initialised rows and runs
# corpus -> tokenizer -> train -> eval -> publish on it. torch comes from a local wheel when there is one.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
WORK=${WORK:-$(mktemp -d)}
mkdir -p "$WORK"
V="$WORK/venv/bin"
if [ ! -x "$V/python" ]; then
  ${PYTHON:-python3} -m venv "$WORK/venv"
  if ls /opt/wheels/torch-*.whl >/dev/null 2>&1; then
    "$V/pip" install -q --no-index --no-deps /opt/wheels/torch-*.whl
    "$V/pip" install -q filelock typing-extensions sympy networkx jinja2 fsspec  # torch's own requirements
  else
    "$V/pip" install -q torch --extra-index-url https://download.pytorch.org/whl/cpu
  fi
fi
"$V/pip" install -q "$REPO"
cd "$WORK"  # away from the checkout: the installed package, not the source tree
unset PYTHONPATH
"$V/python" -c "import lontar, scipy.sparse.linalg; assert 'site-packages' in lontar.__file__, lontar.__file__"
"$V/lontar" --version
COMMON=(--config "$REPO/configs/km-tiny.yaml" --set "output_dir=$WORK/runs"
        --set "corpus.sources=[{type: rdlab, lang: km, max_docs: 3000}]"
        --set "corpus.decontaminate.sources=[{path: $REPO/lontar/eval/data/km_culture_completion.jsonl, lang: km, text_fields: [text]}]"
        --set corpus.near_dedup.enabled=false --set train.max_steps=6 --set train.log_every=2 --set train.eval_every=3
        --set train.save_every=0 --set eval.max_docs=30 --set eval.limit=20 --set "eval.tasks_dir=$REPO/configs/tasks")
BASE=(--set name=fresh-base --set tokenizer.vocab_size=500 --set train.max_steps=2)  # a small base vocabulary to extend
for stage in corpus tokenizer train; do "$V/lontar" "$stage" "${COMMON[@]}" "${BASE[@]}"; done
B="$WORK/runs/fresh-base/base_model"
EXT=(--set name=fresh-install --set tokenizer.mode=extend --set "tokenizer.base=$WORK/runs/fresh-base/tokenizer" --set tokenizer.max_new_pieces=300
     --set tokenizer.vocab_size=1000 --set tokenizer.embedding_init=focus --set tokenizer.report.max_docs=50
     --set "model.name_or_path=$B" --set model.architecture=null --set "lora.modules_to_save=[]")
for stage in corpus tokenizer train eval publish; do "$V/lontar" "$stage" "${COMMON[@]}" "${EXT[@]}"; done
R="$WORK/runs/fresh-install"
"$V/python" - "$R" <<'PY'
import json, sys
from pathlib import Path
run = Path(sys.argv[1])
tokens = json.loads((run / "tokenizer" / "new_tokens.json").read_text())
assert tokens["init"] == "focus" and tokens["focus_weighted"] > 0, {k: tokens[k] for k in ("init", "focus_weighted")}
results = json.loads((run / "eval" / "results.json").read_text())
tasks = set(results["tasks"])
assert {"heldout", "km_culture_completion"} <= tasks, tasks
assert (run / "publish" / "README.md").is_file()
print(f"fresh install: every stage ran; {len(tokens['tokens'])} new tokens initialised by FOCUS "
      f"({tokens['focus_weighted']} weighted); eval tasks {sorted(tasks)}")
PY
