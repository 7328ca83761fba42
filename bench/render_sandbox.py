"""What the render sandbox costs: one render of a cached chart (and one Lua health check) through
a warm sandbox process against the same work in this process, printed as JSON.

    python bench/render_sandbox.py [--renders 300] [--chart tests/fixtures/charts/greeting]

The chart is on disk already (a cached chart: no fetch). "in_process" calls the engine directly,
as renders ran before the sandbox; "sandboxed" is what a poll pays now (`render_helm`: a round
trip to a warm sandbox process, the rows of manifests back as JSON). "first" is a render in a
process that has none yet (it starts one and loads Helm's Go runtime).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from reconciler.model import HelmSource
from reconciler.source.render.capabilities import Capabilities

ROOT = Path(__file__).resolve().parent.parent


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)

    def at(fraction: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] * 1000, 3)

    return {"p50_ms": at(0.5), "p95_ms": at(0.95), "mean_ms": round(statistics.fmean(ordered) * 1000, 3)}


def timed(action: Callable[[], object], rounds: int) -> list[float]:
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        action()
        samples.append(time.perf_counter() - started)
    return samples


def helm_figures(chart: Path, rounds: int) -> dict[str, object]:
    from reconciler.source.render.helm import render_helm
    from reconciler.source.render.helm_engine import template_chart

    tree = chart.parent
    with tempfile.TemporaryDirectory() as scratch:

        def in_process() -> object:
            return template_chart(tree, chart, chart, HelmSource(), "bench", "bench", Capabilities(), None,
                                  Path(scratch))  # fmt: skip

        def sandboxed() -> object:
            return render_helm(tree, chart, None, release_name="bench", namespace="bench")

        started = time.perf_counter()
        objects = len(sandboxed())
        first = time.perf_counter() - started
        in_process()  # loads the Go runtime here too
        inside, outside = timed(in_process, rounds), timed(sandboxed, rounds)
    result_in, result_out = percentiles(inside), percentiles(outside)
    return {
        "chart": str(chart.relative_to(ROOT)) if chart.is_relative_to(ROOT) else str(chart),
        "objects": objects,
        "renders": rounds,
        "first_sandboxed_ms": round(first * 1000, 1),
        "in_process": result_in,
        "sandboxed": result_out,
        "overhead_p50_ms": round(result_out["p50_ms"] - result_in["p50_ms"], 3),
        "overhead_p95_ms": round(result_out["p95_ms"] - result_in["p95_ms"], 3),
    }


def lua_figures(rounds: int) -> dict[str, object]:
    from reconciler.engine.health.rules.lua_runtime import LuaScript, judge, run_health_check

    script = LuaScript(
        'if obj.status and obj.status.ready then return {status = "Healthy"} end\n'
        'return {status = "Progressing", message = "waiting"}',
        "bench/health.lua",
    )
    obj = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}, "status": {"ready": True}}
    run_health_check(script, obj)  # starts the sandbox process
    inside = timed(lambda: judge(script, obj), rounds)
    outside = timed(lambda: run_health_check(script, obj), rounds)
    result_in, result_out = percentiles(inside), percentiles(outside)
    return {
        "checks": rounds,
        "in_process": result_in,
        "sandboxed": result_out,
        "overhead_p50_ms": round(result_out["p50_ms"] - result_in["p50_ms"], 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--renders", type=int, default=300)
    parser.add_argument("--chart", type=Path, default=ROOT / "tests" / "fixtures" / "charts" / "greeting")
    args = parser.parse_args()
    figures = {"helm": helm_figures(args.chart.resolve(), args.renders), "lua": lua_figures(args.renders)}
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
