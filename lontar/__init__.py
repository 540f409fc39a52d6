"""lontar: build a sovereign LLM for a Southeast Asian language, from raw text to a published adapter."""

__version__ = "0.1.0"
