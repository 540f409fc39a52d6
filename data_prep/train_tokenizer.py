"""lontar tokenizer stage: `python data_prep/train_tokenizer.py --config configs/km-tiny.yaml [--set key=value ...]`."""

from lontar.cli import stage_main

if __name__ == "__main__":
    stage_main("tokenizer")
