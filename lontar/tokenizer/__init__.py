"""Tokenizers for SEA languages: train from scratch, extend a base (SentencePiece, byte-level BPE,
Tekken) keeping its ids, initialise the new embedding rows, report fertility and parity."""
