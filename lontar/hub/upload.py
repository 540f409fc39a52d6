"""Upload a hub-ready folder with huggingface_hub. The token comes from the caller, HF_TOKEN or the stored
login; it is handed to huggingface_hub and never printed, logged or put in an error message."""

from __future__ import annotations

from pathlib import Path

from huggingface_hub import HfApi, get_token
from huggingface_hub.errors import HfHubHTTPError

from lontar.errors import LontarError


class UploadError(LontarError):
    pass


def _network_error(e: BaseException) -> bool:
    """No network, a refused connection, offline mode: the user's situation, reported in one line. Matched
    by class name, as huggingface_hub's HTTP client (httpx, httpx2) changes between its versions."""
    return isinstance(e, (ConnectionError, TimeoutError)) or any(
        c.__name__ in ("TransportError", "ConnectError", "TimeoutException") and c.__module__.startswith("httpx")
        for c in type(e).__mro__)


def check_write_access(api: HfApi, repo_id: str) -> str:
    """The account behind the token, after checking that it may write to `repo_id`'s namespace."""
    try:
        me = api.whoami()
    except HfHubHTTPError as e:
        code = e.response.status_code if e.response is not None else "?"
        raise UploadError(f"the hub refused the token (HTTP {code}): set a valid HF_TOKEN or run `hf auth login`") from None
    except Exception as e:
        if not _network_error(e):
            raise
        raise UploadError(f"cannot reach the hub to check the token: {type(e).__name__}") from None
    user = me.get("name", "?")
    role = (me.get("auth", {}).get("accessToken") or {}).get("role")
    if role == "read":
        raise UploadError(f"the token of '{user}' is read-only: create a token with write access")
    owner = repo_id.split("/")[0] if "/" in repo_id else user
    namespaces = [user, *(o.get("name", "") for o in me.get("orgs", []))]
    if owner not in namespaces:
        raise UploadError(f"repo '{repo_id}' belongs to '{owner}', which '{user}' cannot write to "
                          f"(namespaces of this token: {', '.join(namespaces)})")
    return user


def push_folder(folder: Path, repo_id: str, *, private: bool, revision: str | None, commit_message: str,
                endpoint: str | None = None, token: str | None = None) -> str:
    """Create the repo if needed and upload the folder in one commit; returns the commit URL."""
    token = token or get_token()
    if not token:
        raise UploadError("no hub token: set HF_TOKEN or run `hf auth login` (the token is never printed)")
    api = HfApi(endpoint=endpoint, token=token)
    check_write_access(api, repo_id)
    try:
        api.create_repo(repo_id, private=private, exist_ok=True, repo_type="model")
        if revision:
            api.create_branch(repo_id, branch=revision, exist_ok=True, repo_type="model")
        info = api.upload_folder(repo_id=repo_id, folder_path=folder, commit_message=commit_message,
                                 revision=revision, repo_type="model")
    except HfHubHTTPError as e:
        code = e.response.status_code if e.response is not None else "?"
        raise UploadError(f"upload of {folder} to '{repo_id}' failed (HTTP {code}): {str(e).splitlines()[0]}") from None
    except Exception as e:
        if not _network_error(e):
            raise
        raise UploadError(f"upload of {folder} to '{repo_id}' failed: no connection to the hub "
                          f"({type(e).__name__}); nothing was recorded as published") from None
    return str(info.commit_url)
