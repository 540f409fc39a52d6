"""The publish stage: a hub-ready folder always, and a merged model with `--merge` (by default when the run
adds vocabulary to a pretrained base, which vLLM cannot serve as a LoRA adapter); an upload only with `--push`."""

from __future__ import annotations

import time
from pathlib import Path

from lontar.config import RunConfig
from lontar.errors import StageError
from lontar.hub.card import adds_vocabulary, merge_wanted, merged_repo_id
from lontar.hub.folder import build_folder, build_merged_folder
from lontar.hub.upload import UploadError, push_folder
from lontar.manifest import record_stage


def _list(kind: str, folder: Path) -> None:
    files = sorted(str(f.relative_to(folder)) for f in folder.rglob("*") if f.is_file())
    print(f"publish: {kind} folder {folder} ({len(files)} files)")
    for f in files:
        print(f"  {f}")


def run_publish(cfg: RunConfig) -> Path:
    started = time.time()
    p = cfg.publish
    if p.push and not p.repo_id:
        raise StageError("publish.push needs publish.repo_id (or --repo-id org/name)")
    run = cfg.run_dir
    merge = merge_wanted(cfg)
    if merge and p.merge is None:
        print("publish: the run's tokenizer adds tokens to the base, which vLLM cannot serve as a LoRA adapter: "
              "writing the merged model too (publish.merge: false turns this off)")
    elif adds_vocabulary(cfg) and not merge:
        print("publish: warning: no merged model (publish.merge: false); vLLM cannot serve this adapter, which adds "
              "vocabulary")
    # kind -> (repo id or None, folder): keyed by kind, so two folders without repo ids never collide.
    folders: dict[str, tuple[str | None, Path]] = {}
    if merge:
        folders["merged"] = (merged_repo_id(cfg), build_merged_folder(cfg, run / "merged"))
    folders["adapter"] = (p.repo_id, build_folder(cfg, run / "publish", merged_written=merge))
    folders = {k: folders[k] for k in ("adapter", "merged") if k in folders}
    inputs = [run / "adapter", run / "eval" / "results.json", run / "corpus" / "data_card.json"]
    record_stage(cfg, "publish", inputs=[i for i in inputs if i.exists()], outputs=[f for _, f in folders.values()],
                 started=started, extra={"repo_id": p.repo_id, "push": p.push, "merge": merge,
                                         "folders": {k: {"path": f.name, "repo_id": r} for k, (r, f) in folders.items()}})
    for kind, (_, folder) in folders.items():
        _list("hub-ready" if kind == "adapter" else "merged model", folder)
    adapter_folder = folders["adapter"][1]
    card = adapter_folder / "README.md"
    if not p.push:
        text = card.read_text(encoding="utf-8")
        meta, _, body = text.partition("\n---\n") if text.startswith("---\n") else ("", "", text)
        print(f"publish: dry run, nothing uploaded. The card ({card}: {len(meta.splitlines())} lines of hub metadata, "
              "then the text) begins:")
        print("\n".join(body.strip().splitlines()[:25]))
        print(f"publish: to upload: python scripts/publish.py --config CONFIG --repo-id {p.repo_id or 'ORG/NAME'} --push"
              + (" --merge" if merge else ""))
        return adapter_folder
    for repo_id, folder in folders.values():
        try:
            url = push_folder(folder, repo_id or "", private=p.private, revision=p.revision,
                              commit_message=p.commit_message, endpoint=p.endpoint)
        except UploadError as e:
            raise StageError(str(e)) from None
        print(f"publish: uploaded {folder.name} to {url}")
    return adapter_folder
