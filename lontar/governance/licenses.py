"""Whether the adapter's licence fits its base model's.

An adapter or a merged model is a derivative of its base: under a permissive base licence it may carry
any licence; under terms with use restrictions (Gemma, Llama, OpenRAIL), a non-commercial,
no-derivatives or share-alike licence, or terms of its own ("other"), it must carry the base's terms,
so any other licence on the adapter is a mismatch a person has to look at.
"""

from __future__ import annotations

from typing import Any

# Hub licence ids (https://huggingface.co/docs/hub/repositories-licenses) that put no condition on a
# derivative's own licence beyond attribution.
PERMISSIVE = frozenset({
    "apache-2.0", "mit", "bsd", "bsd-2-clause", "bsd-3-clause", "bsd-3-clause-clear", "isc", "zlib", "unlicense",
    "cc0-1.0", "cc-by-2.0", "cc-by-2.5", "cc-by-3.0", "cc-by-4.0", "bsl-1.0", "ecl-2.0", "afl-3.0", "wtfpl",
    "pddl", "odc-by", "postgresql", "ncsa", "artistic-2.0", "ms-pl", "mpl-2.0", "epl-2.0", "cdla-permissive-2.0",
})
USE_RESTRICTED_PREFIXES = ("gemma", "llama", "openrail", "creativeml-openrail", "bigscience-openrail",
                           "bigscience-bloom-rail", "bigcode-openrail", "deepfloyd", "apple-amlr", "qwen",
                           "tongyi", "deepseek", "falcon", "h-research", "fair-noncommercial")


def license_kind(lic: str) -> str:
    """permissive | use restrictions | non-commercial | no derivatives | share-alike | other terms."""
    x = lic.strip().lower()
    if x in PERMISSIVE:
        return "permissive"
    if x.startswith(USE_RESTRICTED_PREFIXES):
        return "use restrictions"
    if "-nc" in x or "noncommercial" in x or "non-commercial" in x:
        return "non-commercial"
    if "-nd" in x:
        return "no derivatives"
    if "-sa" in x or "gpl" in x:
        return "share-alike"
    return "other terms"


def license_check(adapter: str, base: dict[str, Any], random_init: bool) -> tuple[bool, str]:
    """(ok, why): the adapter's licence against the base's, as `lontar audit` reports it."""
    if random_init:
        return True, "random-init base: only the adapter's licence applies"
    lic = base.get("license")
    if not lic:
        return False, f"base licence unknown: {base.get('source', 'not found')}"
    kind = license_kind(lic)
    name = lic + (f" ({base['license_name']})" if base.get("license_name") else "")
    if kind == "permissive" or lic.strip().lower() == adapter.strip().lower():
        return True, f"adapter {adapter} on base {name} ({kind})"
    return False, (f"licence mismatch: adapter {adapter} on base {name}, whose terms ({kind}) bind every "
                   f"derivative: set publish.license to the base's ({lic}) or check that the terms allow {adapter}")
