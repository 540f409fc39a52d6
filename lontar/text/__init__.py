"""Pure, script-aware text functions."""
