"""A local stand-in for the Hugging Face Hub API: the endpoints that create_repo, create_branch, whoami and
upload_folder call, answered from memory, so the upload path is tested end to end with no network."""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import yaml


@dataclass
class HubState:
    user: str = "alice"
    orgs: tuple[str, ...] = ("sea-lab",)
    token_role: str = "write"
    repos: dict[str, dict[str, Any]] = field(default_factory=dict)  # repo_id -> {private, branches, files}
    commits: list[dict[str, Any]] = field(default_factory=list)
    requests: list[tuple[str, str]] = field(default_factory=list)
    auth_headers: list[str] = field(default_factory=list)
    validated: list[str] = field(default_factory=list)
    base: str = ""  # the server's own URL, set when it starts


def _handler(state: HubState) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # quiet
            pass

        def _body(self) -> bytes:
            n = int(self.headers.get("Content-Length") or 0)
            data = self.rfile.read(n) if n else b""
            if self.headers.get("Content-Encoding") == "gzip":
                data = gzip.decompress(data)
            return data

        def _send(self, code: int, payload: Any) -> None:
            data = json.dumps(payload).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _record(self) -> str:
            path = self.path.split("?")[0]
            state.requests.append((self.command, path))
            state.auth_headers.append(self.headers.get("Authorization", ""))
            return path

        def do_GET(self) -> None:  # noqa: N802
            path = self._record()
            if path == "/api/whoami-v2":
                self._send(200, {"type": "user", "name": state.user, "orgs": [{"name": o} for o in state.orgs],
                                 "auth": {"type": "access_token", "accessToken": {"role": state.token_role}}})
            else:
                self._send(404, {"error": f"not implemented: GET {path}"})

        def do_POST(self) -> None:  # noqa: N802
            path = self._record()
            body = self._body()
            parts = path.strip("/").split("/")
            if path == "/api/repos/create":
                req = json.loads(body)
                repo_id = f"{req.get('organization') or state.user}/{req['name']}"
                if repo_id in state.repos:
                    self._send(409, {"error": "You already created this model repo", "url": f"{state.base}/{repo_id}"})
                    return
                visibility = req.get("visibility", "private" if req.get("private") else "public")
                state.repos[repo_id] = {"private": visibility == "private", "branches": {"main"}, "files": {}}
                self._send(200, {"url": f"{state.base}/{repo_id}", "name": repo_id})
            elif path == "/api/validate-yaml":  # the hub checks a README's metadata block before a commit
                content = json.loads(body)["content"]
                try:
                    meta = yaml.safe_load(content.split("---")[1]) if content.startswith("---") else {}
                    ok = isinstance(meta, dict)
                except yaml.YAMLError:
                    ok = False
                state.validated.append(content)
                self._send(200 if ok else 400, {"errors": [] if ok else [{"message": "invalid YAML metadata"}],
                                                "warnings": []})
            elif len(parts) >= 6 and parts[:2] == ["api", "models"] and parts[4] == "preupload":
                files = json.loads(body)["files"]
                self._send(200, {"files": [{"path": f["path"], "uploadMode": "regular", "shouldIgnore": False}
                                           for f in files]})
            elif len(parts) >= 6 and parts[:2] == ["api", "models"] and parts[4] == "commit":
                repo_id, revision = f"{parts[2]}/{parts[3]}", "/".join(parts[5:])
                lines = [json.loads(x) for x in body.decode().splitlines() if x.strip()]
                header = next(x["value"] for x in lines if x["key"] == "header")
                files = {x["value"]["path"]: base64.b64decode(x["value"]["content"]) for x in lines if x["key"] == "file"}
                lfs = [x["value"]["path"] for x in lines if x["key"] == "lfsFile"]
                oid = hashlib.sha1(body).hexdigest()
                state.commits.append({"repo_id": repo_id, "revision": revision, "summary": header["summary"],
                                      "files": files, "lfs": lfs})
                state.repos[repo_id]["files"].update(files)
                self._send(200, {"commitUrl": f"{state.base}/{repo_id}/commit/{oid}", "commitOid": oid,
                                 "pullRequestUrl": None})
            elif len(parts) >= 6 and parts[:2] == ["api", "models"] and parts[4] == "branch":
                state.repos[f"{parts[2]}/{parts[3]}"]["branches"].add("/".join(parts[5:]))
                self._send(200, {})
            else:
                self._send(404, {"error": f"not implemented: POST {path}"})

    return Handler


class FakeHub:
    def __init__(self, state: HubState | None = None) -> None:
        self.state = state or HubState()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self.state))
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.state.base = self.url
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "FakeHub":
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()
