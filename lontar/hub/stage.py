"""The publish stage: a hub-ready folder always (and a merged model with `--merge`); an upload only with `--push`."""

from __future__ import annotations

import time
from pathlib import Path

from lontar.errors import StageError
from lontar.config import RunConfig
from lontar.hub.card import merged_repo_id
from lontar.hub.folder import build_folder, build_merged_folder
from lontar.hub.upload import UploadError, push_folder
from lontar.manifest import record_stage


def _list(folder: Path) -> None:
    files = sorted(str(f.relative_to(folder)) for f in folder.rglob("*") if f.is_file())
    print(f"publish: hub-ready folder {folder} ({len(files)} files)")
    for f in files:
        print(f"  {f}")


def run_publish(cfg: RunConfig) -> Path:
    started = time.time()
    p = cfg.publish
    if p.push and not p.repo_id:
        raise StageError("publish.push needs publish.repo_id (or --repo-id org/name)")
    run = cfg.run_dir
    folders = {p.repo_id: build_folder(cfg, run / "publish")}
    if p.merge:
        folders[merged_repo_id(cfg)] = build_merged_folder(cfg, run / "merged")
    inputs = [run / "adapter", run / "eval" / "results.json", run / "corpus" / "data_card.json"]
    record_stage(cfg, "publish", inputs=[i for i in inputs if i.exists()], outputs=list(folders.values()),
                 started=started, extra={"repo_id": p.repo_id, "push": p.push, "merge": p.merge})
    for folder in folders.values():
        _list(folder)
    card = folders[p.repo_id] / "README.md"
    if not p.push:
        print(f"publish: dry run, nothing uploaded. The card ({card}) begins:")
        print("\n".join(card.read_text(encoding="utf-8").splitlines()[:25]))
        print(f"publish: to upload: python scripts/publish.py --config CONFIG --repo-id {p.repo_id or 'ORG/NAME'} --push"
              + (" --merge" if p.merge else ""))
        return folders[p.repo_id]
    for repo_id, folder in folders.items():
        try:
            url = push_folder(folder, repo_id or "", private=p.private, revision=p.revision,
                              commit_message=p.commit_message, endpoint=p.endpoint)
        except UploadError as e:
            raise StageError(str(e)) from None
        print(f"publish: uploaded {folder.name} to {url}")
    return folders[p.repo_id]
