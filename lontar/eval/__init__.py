"""Evaluation: tokenizer-independent scores for comparing checkpoints."""
