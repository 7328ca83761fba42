"""Where `reconciler login` keeps what it got, per API server: `<config dir>/reconciler/sessions.json`.

The config dir is $XDG_CONFIG_HOME, else ~/.config. The directory is created 0700 and the file
0600 (written to a temporary file of the same mode and renamed over, so no reader ever sees a
half-written file or a moment where it is readable by others). It holds, for each server URL,
either a login session (access token, refresh token, when each ends, who) or a static token
given to `reconciler login`; `reconciler logout` removes the entry.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

FILE_NAME = "sessions.json"


def config_dir() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME", "").strip()
    return (Path(base) if base else Path.home() / ".config") / "reconciler"


def sessions_path() -> Path:
    return config_dir() / FILE_NAME


def _read(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError):
        return {}  # an unreadable file is as good as none: the next login writes a new one
    return data if isinstance(data, dict) else {}


def load(server: str) -> dict[str, Any] | None:
    entry = _read(sessions_path()).get("servers", {}).get(server.rstrip("/"))
    return entry if isinstance(entry, dict) else None


def _write(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".sessions-")  # created 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(data, out, indent=2, sort_keys=True)
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def save(server: str, entry: dict[str, Any]) -> Path:
    path = sessions_path()
    data = _read(path)
    data.setdefault("servers", {})[server.rstrip("/")] = entry
    _write(path, data)
    return path


def forget(server: str) -> bool:
    path = sessions_path()
    data = _read(path)
    removed = data.get("servers", {}).pop(server.rstrip("/"), None) is not None
    if removed:
        _write(path, data)
    return removed
