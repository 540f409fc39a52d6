"""lontar eval stage: every checkpoint on the same benchmark tasks, one report (results.json, .md, .png).

    python evaluate/run.py --config configs/km.yaml [--set key=value ...]
    python evaluate/run.py --config configs/km.yaml --checkpoints base runs/km/adapter runs/km/checkpoints/step-500
"""

from lontar.cli import stage_main

if __name__ == "__main__":
    stage_main("eval")
