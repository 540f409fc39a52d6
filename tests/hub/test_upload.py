import pytest

from lontar.hub.upload import UploadError, push_folder
from tests.hub.fake_hub import FakeHub, HubState

TOKEN = "hf_test_secret_0123456789"


@pytest.fixture
def online(monkeypatch, tmp_path):
    """The tests run offline (conftest); the upload talks to the local fake hub only."""
    import huggingface_hub.constants as c

    monkeypatch.setattr(c, "HF_HUB_OFFLINE", False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf_home"))  # no stored login
    monkeypatch.delenv("HF_TOKEN", raising=False)


@pytest.fixture
def folder(tmp_path):
    f = tmp_path / "publish"
    (f / "sub").mkdir(parents=True)
    (f / "README.md").write_text("---\nlicense: apache-2.0\nlanguage: [km]\n---\n# ម៉ូដែល\n", encoding="utf-8")
    (f / "adapter_model.safetensors").write_bytes(bytes(range(256)) * 2000)
    (f / "sub" / "tokenizer.json").write_text('{"ភាសា": 1}', encoding="utf-8")
    return f


def test_every_file_and_the_commit_message_arrive_intact(online, folder, monkeypatch, capsys):
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    with FakeHub() as hub:
        url = push_folder(folder, "sea-lab/km-adapter", private=True, revision="v1",
                          commit_message="Upload ខ្មែរ adapter", endpoint=hub.url)
        state = hub.state
    [commit] = state.commits
    assert commit["summary"] == "Upload ខ្មែរ adapter" and commit["revision"] == "v1"
    sent = {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    assert commit["files"] == sent and not commit["lfs"]
    repo = state.repos["sea-lab/km-adapter"]
    assert repo["private"] is True and "v1" in repo["branches"]
    assert url.startswith(hub.url + "/sea-lab/km-adapter/commit/")
    assert all(h == f"Bearer {TOKEN}" for h in state.auth_headers)  # the token went to the hub ...
    out = capsys.readouterr()
    assert TOKEN not in out.out + out.err  # ... and nowhere else


def test_no_token_is_a_clear_error_before_any_request(online, folder):
    with FakeHub() as hub:
        with pytest.raises(UploadError, match="no hub token: set HF_TOKEN"):
            push_folder(folder, "alice/x", private=True, revision=None, commit_message="m", endpoint=hub.url)
        assert hub.state.requests == []


def test_someone_elses_repo_is_refused_before_anything_is_created(online, folder):
    with FakeHub() as hub:
        with pytest.raises(UploadError, match="belongs to 'bob', which 'alice' cannot write") as e:
            push_folder(folder, "bob/km", private=True, revision=None, commit_message="m", endpoint=hub.url,
                        token=TOKEN)
        assert hub.state.requests == [("GET", "/api/whoami-v2")] and TOKEN not in str(e.value)


def test_read_only_token_is_refused(online, folder):
    with FakeHub(HubState(token_role="read")) as hub:
        with pytest.raises(UploadError, match="read-only"):
            push_folder(folder, "alice/km", private=True, revision=None, commit_message="m", endpoint=hub.url,
                        token=TOKEN)


def test_existing_repo_of_ones_own_gets_a_new_commit(online, folder):
    with FakeHub() as hub:
        for message in ("first", "second"):
            push_folder(folder, "alice/km", private=False, revision=None, commit_message=message, endpoint=hub.url,
                        token=TOKEN)
        assert [c["summary"] for c in hub.state.commits] == ["first", "second"]
        assert [c["revision"] for c in hub.state.commits] == ["main", "main"]
        assert hub.state.repos["alice/km"]["private"] is False
