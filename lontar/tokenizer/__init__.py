"""Tokenizers for SEA languages: training, and the fertility report."""
