"""LoRA training: model and adapter setup, packed data, the accelerate loop."""
