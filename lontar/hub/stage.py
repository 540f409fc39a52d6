"""The publish stage: a hub-ready folder, always; an upload only with `--push`."""

from __future__ import annotations

import time
from pathlib import Path

from lontar.cli import StageError
from lontar.config import RunConfig
from lontar.hub.folder import build_folder
from lontar.hub.upload import UploadError, push_folder
from lontar.manifest import record_stage


def run_publish(cfg: RunConfig) -> Path:
    started = time.time()
    p = cfg.publish
    if p.push and not p.repo_id:
        raise StageError("publish.push needs publish.repo_id (or --repo-id org/name)")
    run = cfg.run_dir
    folder = build_folder(cfg, run / "publish")
    inputs = [run / "adapter", run / "eval" / "results.json", run / "corpus" / "data_card.json"]
    record_stage(cfg, "publish", inputs=[i for i in inputs if i.exists()], outputs=[folder], started=started,
                 extra={"repo_id": p.repo_id, "push": p.push})
    files = sorted(str(f.relative_to(folder)) for f in folder.rglob("*") if f.is_file())
    print(f"publish: hub-ready folder {folder} ({len(files)} files)")
    for f in files:
        print(f"  {f}")
    if not p.push:
        print(f"publish: dry run, nothing uploaded; to upload: python scripts/publish.py --config CONFIG "
              f"--repo-id {p.repo_id or 'ORG/NAME'} --push")
        return folder
    try:
        url = push_folder(folder, p.repo_id or "", private=p.private, revision=p.revision,
                          commit_message=p.commit_message)
    except UploadError as e:
        raise StageError(str(e)) from None
    print(f"publish: uploaded to {url}")
    return folder
