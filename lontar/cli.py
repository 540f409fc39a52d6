"""`lontar corpus|tokenizer|train|eval|publish --config FILE [--set key=value ...]`.

Stage functions are imported lazily so that a bad config fails in a fraction of a second, before
torch is even loaded.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from contextlib import nullcontext
from collections.abc import Callable, Sequence

from lontar import __version__
from lontar.config import RunConfig, load_config
from lontar.errors import LontarError, StageError, storage_errors  # noqa: F401  (StageError re-exported)
from lontar.log import LEVELS, setup_logging
from lontar.rundir import remove_partials, run_lock

log = logging.getLogger(__name__)

STAGES: dict[str, tuple[str, str, str]] = {
    "corpus": ("lontar.corpus.build", "build_corpus", "build the corpus: read, normalize, dedup, split, shard"),
    "tokenizer": ("lontar.tokenizer.stage", "run_tokenizer", "train a tokenizer on the corpus, or extend the base model's tokenizer"),
    "train": ("lontar.train.stage", "run_train", "LoRA training in an accelerate loop"),
    "eval": ("lontar.eval.stage", "run_eval", "evaluate checkpoints on benchmark tasks and held-out bits per byte"),
    "publish": ("lontar.hub.stage", "run_publish", "build a hub-ready folder; upload only with --push"),
    "audit": ("lontar.governance.audit", "run_audit", "check the run's responsible-AI record (governance.json)"),
    "generate": ("lontar.eval.sample", "run_generate", "generate text from a checkpoint (base, adapter, step-N)"),
    "plan": ("lontar.train.plan", "run_plan", "estimate GPU memory per strategy (DDP, FSDP2, ZeRO-3) from config.json"),
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lontar", description="Build a sovereign LLM for a Southeast Asian language, one stage at a time.",
        epilog="Every stage takes --config FILE and any number of --set key=value overrides.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="stage", required=True, metavar="STAGE")
    init = sub.add_parser("init", help="write a starting config for a language from its recipe")
    init.add_argument("--lang", required=True, help="language code, e.g. vi (configs/<lang>.yaml)")
    init.add_argument("--out", help="file to write (default <name>.yaml here)")
    init.add_argument("--name", help="run name (default the language code)")
    init.add_argument("--tiny", action="store_true", help="start from the CPU twin (configs/tiny/<lang>.yaml)")
    init.add_argument("--force", action="store_true", help="overwrite an existing file")
    for name, (_, _, help_text) in STAGES.items():
        p = sub.add_parser(name, help=help_text, description=help_text[0].upper() + help_text[1:] + ".")
        p.add_argument("--config", required=True, help="run config YAML")
        p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                       help="override a config key, e.g. --set train.lr=2e-4 (repeatable)")
        p.add_argument("--log-level", choices=LEVELS, default="info",
                       help="how much the stage says: debug, info (default), warning or error")
        if name == "train":
            p.add_argument("--resume", nargs="?", const=True, default=False, metavar="CHECKPOINT",
                           help="continue from the latest checkpoint in runs/<name>/checkpoints (or the one given)")
        if name == "eval":
            p.add_argument("--checkpoints", nargs="+", help="'base', 'adapter' or adapter folders")
        if name == "generate":
            p.add_argument("prompt", nargs="+", help="one or more prompts (each generated separately)")
            p.add_argument("--checkpoint", help="'base', 'adapter' (default when trained), a step-N checkpoint "
                                                "or adapter folder, or a full model folder")
            p.add_argument("--max-new-tokens", type=int, default=128)
            p.add_argument("--stop", action="append", default=[], metavar="TEXT",
                           help="stop at this text (repeatable; escapes such as \\n are read)")
            p.add_argument("--chat", action="store_true", help="wrap the prompt in the tokenizer's chat template")
        if name == "plan":
            p.add_argument("--gpus", type=int, default=1, help="GPUs to spread the run over (default 1)")
            p.add_argument("--gpu-memory", type=float, default=80.0, metavar="GIB", help="memory per GPU in GiB (default 80)")
        if name == "publish":
            p.add_argument("--repo-id", help="hub repository, e.g. org/name")
            p.add_argument("--push", action="store_true", help="upload to the hub (off by default: dry run)")
            p.add_argument("--merge", action="store_true",
                           help="also merge the adapter into the base and write a full sharded safetensors model")
    return parser


def _stage_overrides(args: argparse.Namespace) -> list[str]:
    extra = []
    if getattr(args, "checkpoints", None):
        extra.append("eval.checkpoints=[" + ", ".join(repr(c) for c in args.checkpoints) + "]")
    if getattr(args, "repo_id", None):
        extra.append(f"publish.repo_id={args.repo_id}")
    if getattr(args, "merge", False):
        extra.append("publish.merge=true")
    return extra


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    setup_logging(getattr(args, "log_level", "info"))
    if args.stage == "init":
        from lontar.init import write_starting_config

        try:
            path = write_starting_config(args.lang, args.out, args.name, args.tiny, args.force)
        except LontarError as e:
            log.error(f"lontar init: error: {e}")
            return 2
        log.info(f"lontar init: wrote {path}; next: lontar corpus --config {path}")
        return 0
    try:
        cfg: RunConfig = load_config(args.config, [*args.overrides, *_stage_overrides(args)])
        module, func, _ = STAGES[args.stage]
        run: Callable[..., object] = getattr(importlib.import_module(module), func)
        # generate only reads a checkpoint: it may look at one while training writes the next
        unlocked = ("audit", "plan", "generate")
        lock = run_lock(cfg.run_dir, args.stage) if args.stage not in unlocked else nullcontext()
        # The outer check catches a run folder that cannot even be created; the inner one cleans up
        # while the lock is still held.
        with storage_errors(str(cfg.run_dir)), lock, \
                storage_errors(str(cfg.run_dir), cleanup=lambda: remove_partials(cfg.run_dir)):
            if args.stage == "plan":  # reads configs only
                run(cfg, gpus=args.gpus, gpu_memory=args.gpu_memory)
            elif args.stage == "publish":  # the upload switch comes from the command line only
                run(cfg, push=args.push)
            elif args.stage == "generate":
                stops = [s.encode("utf-8").decode("unicode_escape").encode("latin-1").decode("utf-8") for s in args.stop]
                run(cfg, args.prompt, checkpoint=args.checkpoint, max_new_tokens=args.max_new_tokens, stop=stops,
                    chat=args.chat)
            elif getattr(args, "resume", False):
                run(cfg, resume=args.resume)
            else:
                run(cfg)
    except LontarError as e:  # anything else is a bug in lontar and keeps its traceback
        log.error(f"lontar {args.stage}: error: {e}")
        return 2
    except KeyboardInterrupt:
        log.error(f"lontar {args.stage}: interrupted")
        return 130
    return 0


def stage_main(stage: str) -> None:
    """Entry point of the thin stage scripts: `python train/run.py --config ...`."""
    sys.exit(main([stage, *sys.argv[1:]]))


if __name__ == "__main__":
    sys.exit(main())
