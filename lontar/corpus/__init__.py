"""Corpus building: sources, steps, dedup, split, shards and the data card."""
