"""Evaluation: checkpoints on benchmark tasks declared in YAML (configs/tasks/).

task.py (the task file schema and Jinja), sources.py (hub datasets, local files through lontar.records,
the run's corpus, and where each row came from),
prompts.py (base and chat prompts, SEA-HELM's templates), loglik.py (multiple-choice log-likelihood),
generate.py (greedy generation), bpb.py (bits per byte), metrics.py (metrics and bootstrap intervals),
runner.py (a task on a model), report.py (results rows, leaderboard, plots), stage.py (the eval stage),
show.py (`python -m lontar.eval.show`: a task's rendered prompts, without a model).
"""
