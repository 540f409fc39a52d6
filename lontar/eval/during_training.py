"""Benchmarks during training: `train.eval_tasks` every `train.eval_tasks_every` steps (default
`train.eval_every`) and at the last step, on the main process, with the adapter as trained so far.

The tasks are the eval stage's own (names, globs or paths; data from the `eval` section: `data_dirs`,
`dataset_dirs`, `limit`, `batch_size`, `max_length`, `bootstrap`), loaded before the first step so a bad
task file or a missing data file fails at once. Each run logs, per task, its main metric's value and
95% interval (subset `all`) to `logs/eval_log.jsonl` (records with a `tasks` key), to TensorBoard
(`bench/<task>/<metric>`) and to `logs/benchmarks.png`, the score against the step with the intervals as
bands and chance dashed. Other processes wait at the next collective; sharded weights (FSDP, ZeRO-3)
are refused, as one process cannot run the model alone.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from lontar.config import RunConfig
from lontar.errors import ConfigError

PACKED_SAFE = ("sdpa", "eager")


class TrainingBenchmarks:
    def __init__(self, cfg: RunConfig, tokenizer: Any, accelerator: Any):
        from lontar.eval.runner import Settings
        from lontar.eval.stage import data_context, prepare_tasks
        from lontar.eval.task import resolve_tasks, tasks_dir

        t, e = cfg.train, cfg.eval
        self.every = t.eval_tasks_every or t.eval_every
        if not self.every:
            raise ConfigError("train.eval_tasks: set train.eval_tasks_every (or train.eval_every) to say how often")
        if _sharded(accelerator):
            raise ConfigError("train.eval_tasks: the weights are sharded (FSDP / ZeRO-3); one process cannot run the "
                              "model alone: evaluate the saved checkpoints with `lontar eval` instead")
        self.cfg, self.tokenizer, self.max_steps = cfg, tokenizer, t.max_steps
        self.main = accelerator.is_main_process
        self.ctx = data_context(cfg)
        tasks = resolve_tasks(list(t.eval_tasks), tasks_dir(e.tasks_dir))
        self.prepared, skipped = prepare_tasks(cfg, tasks, self.ctx) if self.main else ([], {})
        self.skipped = skipped
        self.settings = Settings(style=e.prompt_style, batch_size=e.batch_size, max_length=e.max_length,
                                 bpb_max_length=e.max_length or t.block_size, strategy=e.mc_strategy,
                                 bootstrap=e.bootstrap, seed=e.seed, device=str(accelerator.device), progress=False)
        self.history: list[dict[str, Any]] = []

    def due(self, step: int) -> bool:
        return step % self.every == 0 or step == self.max_steps

    @torch.no_grad()
    def run(self, model: Any, step: int) -> tuple[dict[str, Any], dict[str, float]]:
        """Every task on the model as it is now; the record to log and the tracker's scalars."""
        from lontar.eval.report import primary_metric
        from lontar.eval.runner import run_task

        base = model.get_base_model() if hasattr(model, "get_base_model") else model
        impl = getattr(base.config, "_attn_implementation", "sdpa")
        if impl not in PACKED_SAFE and not str(impl).startswith("flash"):  # lontar's packed kernel needs its batches
            base.set_attn_implementation("sdpa")
        was_training = model.training
        model.eval()
        tasks: dict[str, Any] = {}
        scalars: dict[str, float] = {}
        try:
            for p in self.prepared:
                r = run_task(p, model, self.tokenizer, self.settings, self.ctx, f"step-{step}")
                metric = primary_metric({"metrics_list": list(p.task.default_metrics)})
                got = r.metrics["all"][metric]
                tasks[p.task.task] = {"metric": metric, "value": got["value"], "ci": got.get("ci"), "n": p.n,
                                      "chance": r.chance, "seconds": r.seconds}
                scalars[f"bench/{p.task.task}/{metric}"] = got["value"]
        finally:
            model.train(was_training)
            if base.config._attn_implementation != impl:
                base.set_attn_implementation(impl)
        rec = {"step": step, "tasks": tasks}
        self.history.append(rec)
        return rec, scalars

    def plot(self, path: Path) -> None:
        """Score against step for every task so far (one panel per metric)."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        from lontar.eval.report import plot_steps

        by_metric: dict[str, dict[str, list]] = {}
        chance: dict[str, float] = {}
        for rec in self.history:
            for name, r in rec["tasks"].items():
                by_metric.setdefault(r["metric"], {}).setdefault(name, []).append((rec["step"], r["value"], r["ci"]))
                if r.get("chance") is not None:
                    chance[name] = r["chance"]
        if not by_metric:
            return
        fig, axes = plt.subplots(1, len(by_metric), figsize=(6.0 * len(by_metric), 3.2), squeeze=False)
        for ax, (metric, series) in zip(axes.flat, by_metric.items()):
            plot_steps(ax, series, metric, chance)
            ax.set_title(f"{self.cfg.name}: benchmarks during training")
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp.png")
        fig.savefig(tmp, dpi=110, bbox_inches="tight")
        plt.close(fig)
        tmp.replace(path)


def _sharded(accelerator: Any) -> bool:
    from accelerate.utils import DistributedType

    kind = getattr(accelerator, "distributed_type", None)
    if kind == DistributedType.FSDP:
        return True
    if kind == DistributedType.DEEPSPEED:
        plugin = getattr(accelerator.state, "deepspeed_plugin", None)
        return getattr(plugin, "zero_stage", 0) == 3
    return False


def maybe_benchmarks(cfg: RunConfig, tokenizer: Any, accelerator: Any) -> TrainingBenchmarks | None:
    """The training loop's hook: None when `train.eval_tasks` is empty."""
    return TrainingBenchmarks(cfg, tokenizer, accelerator) if cfg.train.eval_tasks else None


def benchmark_step(bench: TrainingBenchmarks | None, model: Any, step: int, accelerator: Any, write: Any,
                   records: list[dict[str, Any]]) -> None:
    """Run the tasks when due (main process), log them (`write(kind, record, scalars)`, and `records`, the
    evaluation history a checkpoint keeps, so a resumed run plots every step), keep the processes together."""
    if bench is None or not bench.due(step):
        return
    if bench.main:
        if not bench.history:  # a resumed run: what the checkpoint knew
            bench.history = [r for r in records if "tasks" in r]
        rec, scalars = bench.run(model, step)
        records.append(rec)
        write("eval", rec, scalars)
        bench.plot(bench.cfg.run_dir / "logs" / "benchmarks.png")
        from tqdm import tqdm

        shown = "  ".join(f"{n} {r['metric']} {r['value']:.4f}" for n, r in rec["tasks"].items())
        tqdm.write(f"step {step:>6}  {shown}")
    accelerator.wait_for_everyone()
