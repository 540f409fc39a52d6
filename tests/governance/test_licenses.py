import pytest

from lontar.governance.licenses import license_check, license_kind


@pytest.mark.parametrize("lic,kind", [("apache-2.0", "permissive"), ("MIT", "permissive"), ("gemma", "use restrictions"),
                                      ("llama3.1", "use restrictions"), ("bigscience-openrail-m", "use restrictions"),
                                      ("cc-by-nc-4.0", "non-commercial"), ("cc-by-sa-4.0", "share-alike"),
                                      ("gpl-3.0", "share-alike"), ("other", "other terms")])
def test_kinds(lic, kind):
    assert license_kind(lic) == kind


def test_mismatch_and_match():
    ok, why = license_check("apache-2.0", {"license": "gemma", "source": "card"}, False)
    assert not ok and why.startswith("licence mismatch: adapter apache-2.0 on base gemma") and "use restrictions" in why
    assert license_check("gemma", {"license": "gemma"}, False)[0]
    assert license_check("cc-by-nc-4.0", {"license": "apache-2.0"}, False)[0]  # a permissive base allows any
    ok, why = license_check("apache-2.0", {"license": None, "source": "not found"}, False)
    assert not ok and "unknown" in why
    assert license_check("apache-2.0", {"license": None}, True)[0]  # a random-init base has no terms
