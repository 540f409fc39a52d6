"""The publish stage: a hub-ready folder always, and a merged model with `--merge` (by default when the run
adds vocabulary to a pretrained base, which vLLM cannot serve as a LoRA adapter); an upload only with `--push`."""

from __future__ import annotations

import logging
import time
from pathlib import Path

from lontar.config import RunConfig
from lontar.errors import StageError
from lontar.hub.card import adds_vocabulary, merge_wanted, merged_repo_id
from lontar.hub.folder import ADAPTER_FILES, build_folder, build_merged_folder
from lontar.hub.upload import UploadError, push_folder
from lontar.hub.verify import verify
from lontar.manifest import record_stage
from lontar.train.model import MissingStageOutput, base_model_dir

log = logging.getLogger(__name__)


def _list(kind: str, folder: Path) -> None:
    files = sorted(str(f.relative_to(folder)) for f in folder.rglob("*") if f.is_file())
    log.info(f"publish: {kind} folder {folder} ({len(files)} files)")
    for f in files:
        log.info(f"  {f}")


def _base_weights(cfg: RunConfig) -> Path | None:
    """The base's folder on this machine, to check the adapter's shapes against, or None (a hub id)."""
    if cfg.model.architecture is not None:
        return base_model_dir(cfg)
    local = Path(cfg.model.name_or_path or "").expanduser()
    return local if cfg.model.name_or_path and local.is_dir() else None


def run_publish(cfg: RunConfig, push: bool = False) -> Path:
    """`push` is the command line's `--push`: publish.push in a config uploads nothing by itself."""
    started = time.time()
    p = cfg.publish
    if p.push and not push:
        log.info("publish: publish.push in the config does not upload; pass --push on the command line to upload")
    if push and not p.repo_id:
        raise StageError("--push needs publish.repo_id (or --repo-id org/name)")
    run = cfg.run_dir
    adapter = run / "adapter"
    missing = [f for f in ADAPTER_FILES if not (adapter / f).exists()]
    if missing:
        raise MissingStageOutput(f"{adapter}: missing {', '.join(missing)}: run the train stage first (lontar train)")
    verify(cfg, adapter, _base_weights(cfg))
    merge = merge_wanted(cfg)
    if merge and p.merge is None:
        log.info("publish: the run's tokenizer adds tokens to the base, which vLLM cannot serve as a LoRA adapter: "
                 "writing the merged model too (publish.merge: false turns this off)")
    elif adds_vocabulary(cfg) and not merge:
        log.warning("publish: warning: no merged model (publish.merge: false); vLLM cannot serve this adapter, which adds "
                    "vocabulary")
    # kind -> (repo id or None, folder): keyed by kind, so two folders without repo ids never collide.
    folders: dict[str, tuple[str | None, Path]] = {}
    if merge:
        folders["merged"] = (merged_repo_id(cfg), build_merged_folder(cfg, run / "merged"))
    folders["adapter"] = (p.repo_id, build_folder(cfg, run / "publish", merged_written=merge))
    folders = {k: folders[k] for k in ("adapter", "merged") if k in folders}
    inputs = [run / "adapter", run / "eval" / "results.json", run / "corpus" / "data_card.json"]

    def record(pushed: dict[str, str], error: str | None = None) -> None:
        # Written after the upload: a failed push is never recorded as published.
        extra = {"repo_id": p.repo_id, "push": bool(pushed), "merge": merge,
                 "folders": {k: {"path": f.name, "repo_id": r, **({"commit_url": pushed[k]} if k in pushed else {})}
                             for k, (r, f) in folders.items()}}
        if error:
            extra["push_failed"] = error
        record_stage(cfg, "publish", inputs=[i for i in inputs if i.exists()],
                     outputs=[f for _, f in folders.values()], started=started, extra=extra)

    for kind, (_, folder) in folders.items():
        _list("hub-ready" if kind == "adapter" else "merged model", folder)
    adapter_folder = folders["adapter"][1]
    card = adapter_folder / "README.md"
    if not push:
        record({})
        text = card.read_text(encoding="utf-8")
        meta, _, body = text.partition("\n---\n") if text.startswith("---\n") else ("", "", text)
        log.info(f"publish: dry run, nothing uploaded. The card ({card}: {len(meta.splitlines())} lines of hub metadata, "
                 "then the text) begins:")
        log.info("\n".join(body.strip().splitlines()[:25]))
        log.info(f"publish: to upload: python scripts/publish.py --config CONFIG --repo-id {p.repo_id or 'ORG/NAME'} --push"
                 + (" --merge" if merge else ""))
        return adapter_folder
    pushed: dict[str, str] = {}
    for kind, (repo_id, folder) in folders.items():
        try:
            url = push_folder(folder, repo_id or "", private=p.private, revision=p.revision,
                              commit_message=p.commit_message, endpoint=p.endpoint)
        except UploadError as e:
            record(pushed, error=str(e))
            raise StageError(str(e)) from None
        pushed[kind] = url
        log.info(f"publish: uploaded {folder.name} to {url}")
    record(pushed)
    return adapter_folder
