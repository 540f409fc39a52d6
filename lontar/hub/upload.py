"""Upload a hub-ready folder with huggingface_hub. The token is read by huggingface_hub itself
(HF_TOKEN or the stored login) and never printed or logged here."""

from __future__ import annotations

from pathlib import Path

from huggingface_hub import HfApi, get_token


class UploadError(Exception):
    pass


def push_folder(folder: Path, repo_id: str, *, private: bool, revision: str | None, commit_message: str,
                endpoint: str | None = None) -> str:
    """Create the repo if needed and upload the folder in one commit; returns the commit URL."""
    if not get_token():
        raise UploadError("no hub token: set HF_TOKEN or run `hf auth login` (the token is never printed)")
    api = HfApi(endpoint=endpoint)
    api.create_repo(repo_id, private=private, exist_ok=True, repo_type="model")
    if revision:
        api.create_branch(repo_id, branch=revision, exist_ok=True, repo_type="model")
    info = api.upload_folder(repo_id=repo_id, folder_path=folder, commit_message=commit_message,
                             revision=revision, repo_type="model")
    return str(info.commit_url)
