"""The responsible-AI record of a run (`governance.json`) and `lontar audit`."""
