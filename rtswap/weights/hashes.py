"""SHA-256 of files: model files (remembered per folder) and sources."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path


def file_sha256(path: Path) -> str:
    """The file's SHA-256, remembered in the folder's ``.sha256.json`` by size and modification
    time, so a 550 MB checkpoint is hashed once, not at every start."""
    memo_path = path.parent / ".sha256.json"
    try:
        memo = json.loads(memo_path.read_text())
    except (OSError, ValueError):
        memo = {}
    stat = path.stat()
    key = [stat.st_size, stat.st_mtime_ns]
    entry = memo.get(path.name)
    if isinstance(entry, dict) and entry.get("key") == key:
        return str(entry["sha256"])
    digest = sha256_file(path)
    memo[path.name] = {"key": key, "sha256": digest}
    try:
        tmp = memo_path.with_name(f".tmp-{os.getpid()}-sha256.json")
        tmp.write_text(json.dumps(memo, indent=1))
        os.replace(tmp, memo_path)
    except OSError:  # a read-only models folder: hash again next time
        pass
    return digest


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
