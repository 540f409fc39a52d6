"""lontar corpus stage: `python data_prep/build_corpus.py --config configs/km-tiny.yaml [--set key=value ...]`."""

from lontar.cli import stage_main

if __name__ == "__main__":
    stage_main("corpus")
