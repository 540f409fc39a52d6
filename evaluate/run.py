"""lontar eval stage: `python evaluate/run.py --config configs/km-tiny.yaml [--set key=value ...]`."""

from lontar.cli import stage_main

if __name__ == "__main__":
    stage_main("eval")
