"""Where the workers' CPU went: py-spy raw samples (`frame;frame;... count` lines) summed by
the innermost frame that belongs to a known part of the system."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

# (category, substring of a frame's file) — checked from the innermost frame outwards.
CATEGORIES = (
    ("yaml parse/dump", "yaml/"),
    ("json (render cache, status, Redis values)", "json/"),
    ("Kubernetes API client (HTTP, dry-runs, applies)", "kubernetes/"),
    ("Kubernetes API client (HTTP, dry-runs, applies)", "urllib3/"),
    ("Redis round trips", "redis/"),
    ("git", "reconciler/source/git/"),
    ("render", "reconciler/source/render/"),
    ("render", "helm"),
    ("diff", "reconciler/engine/diff/"),
    ("health", "reconciler/health"),
    ("plan", "reconciler/engine/plan"),
    ("compare", "reconciler/engine/"),
    ("sync state machine", "reconciler/control/sync"),
    ("poll", "reconciler/control/poll"),
    ("Celery/kombu task hops", "celery/"),
    ("Celery/kombu task hops", "kombu/"),
    ("Celery/kombu task hops", "billiard/"),
    ("model parse", "reconciler/model/"),
)


def summarise(files: list[Path], top: int = 12) -> dict[str, object]:
    by_category: Counter[str] = Counter()
    by_function: Counter[str] = Counter()
    total = 0
    for file in files:
        for line in file.read_text(errors="replace").splitlines():
            stack, _, count_text = line.rpartition(" ")
            if not stack or not count_text.isdigit():
                continue
            count = int(count_text)
            total += count
            frames = stack.split(";")
            by_function[frames[-1]] += count
            category = "other (interpreter, threads)"
            if any("importlib._bootstrap" in frame for frame in frames):
                by_category["imports (process start-up)"] += count
                continue
            for frame in reversed(frames):
                match = next((name for name, needle in CATEGORIES if needle in frame), None)
                if match:
                    category = match
                    break
            by_category[category] += count
    if not total:
        return {"samples": 0}
    return {
        "samples": total,
        "share_by_part": {k: round(v / total, 3) for k, v in by_category.most_common()},
        "top_functions": [[k, round(v / total, 3)] for k, v in by_function.most_common(top)],
    }
