"""Print a task's rendered prompts, the way the scorer will see them, without loading a model.

    python -m lontar.eval.show belebele_km --n 2 --dataset-dir facebook/belebele=/data/belebele
    python -m lontar.eval.show my_task.yaml --config configs/km.yaml --fewshot 5 --tokenizer runs/km/tokenizer

Checking a new benchmark file starts here: the context (few-shot examples included), the choices
each continuation adds, the gold answer or references, and, given a tokenizer, the prompt's length in
tokens against the window, so a prompt the model would see cut shows up before any run.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from lontar.errors import LontarError
from lontar.eval.prompts import build_instances
from lontar.eval.sources import DataContext, task_docs
from lontar.eval.task import resolve_tasks, tasks_dir


def _pairs(items: Sequence[str], flag: str) -> dict[str, str]:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise LontarError(f"{flag} {item}: expected NAME=PATH")
        out[key] = value
    return out


def show(names: list[str], ctx: DataContext, *, directory: str | None = None, n: int = 2, fewshot: int | None = None,
         style: str = "base", tokenizer: Any = None, max_length: int | None = None, out: Any = None) -> None:
    out = sys.stdout if out is None else out  # bound per call, so a redirected sys.stdout is honoured
    for task in resolve_tasks(names, tasks_dir(directory)):
        if fewshot is not None:
            task = task.model_copy(update={"fewshot": task.fewshot.model_copy(update={"k": fewshot})})
        data = task_docs(task, ctx)
        print(f"=== {task.task} ({task.file}; {len(data.docs)} documents, {task.fewshot.k}-shot, {style})", file=out)
        if task.output == "bpb":
            for i in range(min(n, len(data.docs))):
                print(f"--- document {i}\n{task.render_text(data.docs[i])}", file=out)
            continue
        for x in build_instances(task, data.docs, data.pool, style=style, tokenizer=tokenizer, ctx=ctx,  # type: ignore[arg-type]
                                 indices=list(range(min(n, len(data.docs))))):
            print(f"--- item {x.index}" + (f" [{x.group}]" if x.group else ""), file=out)
            print(x.context, file=out)
            if x.continuations is not None:
                for j, c in enumerate(x.continuations):
                    print(f"  choice {j}{' (gold)' if j == x.gold else ''}: {c!r}", file=out)
            else:
                print(f"  references: {x.references}", file=out)
            if tokenizer is not None:
                from lontar.eval.loglik import encode

                tokens = len(encode(tokenizer, x.context))
                window = max_length or getattr(tokenizer, "model_max_length", None)
                over = f" (over the {window}-token window: it will be cut)" if window and tokens > window else ""
                print(f"  context tokens: {tokens}{over}", file=out)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m lontar.eval.show", description=__doc__.split("\n\n")[0])
    p.add_argument("tasks", nargs="+", help="task names, globs or YAML files")
    p.add_argument("--config", help="a run config: its eval section gives tasks_dir, data_dirs, dataset_dirs, hub_mirror")
    p.add_argument("--tasks-dir")
    p.add_argument("--data-dir", action="append", default=[], metavar="NAME=PATH", help="fills {NAME} in task paths")
    p.add_argument("--dataset-dir", action="append", default=[], metavar="HUB_ID=PATH",
                   help="a local copy of a hub dataset, in the hub's layout")
    p.add_argument("--hub-mirror")
    p.add_argument("--n", type=int, default=2, help="items to print (default 2)")
    p.add_argument("--fewshot", type=int, help="override the few-shot count")
    p.add_argument("--style", choices=["base", "chat"], default="base")
    p.add_argument("--tokenizer", help="a tokenizer folder or hub id: count tokens (needed for --style chat)")
    p.add_argument("--max-length", type=int, help="the window to compare prompt lengths with")
    args = p.parse_args(argv)
    try:
        data_dirs, dataset_dirs, mirror, directory = {}, {}, None, args.tasks_dir
        if args.config:
            from lontar.config import load_config

            e = load_config(args.config).eval
            data_dirs, dataset_dirs, mirror = dict(e.data_dirs), dict(e.dataset_dirs), e.hub_mirror
            directory = directory or e.tasks_dir
        data_dirs.update(_pairs(args.data_dir, "--data-dir"))
        dataset_dirs.update(_pairs(args.dataset_dir, "--dataset-dir"))
        ctx = DataContext(data_dirs=data_dirs, dataset_dirs=dataset_dirs, hub_mirror=args.hub_mirror or mirror)
        tokenizer = None
        if args.tokenizer:
            from transformers import AutoTokenizer

            tokenizer = AutoTokenizer.from_pretrained(args.tokenizer)
        show(args.tasks, ctx, directory=directory, n=args.n, fewshot=args.fewshot, style=args.style,
             tokenizer=tokenizer, max_length=args.max_length)
    except LontarError as e:
        print(f"lontar eval.show: error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
