"""Seconds per evaluation of one Jsonnet program by go-jsonnet (`gojsonnet`, used by the
renderer) and, when installed, the C++ `jsonnet` wheel, printed as JSON.

    python bench/jsonnet_engines.py [--objects 300] [--rounds 5]

Measured on the 2-core development machine (300 ConfigMaps, 5 rounds): gojsonnet 0.56 s,
jsonnet (C++) 7.6 s per evaluation; that is why the renderer uses gojsonnet.
"""

from __future__ import annotations

import argparse
import importlib
import json
import time

PROGRAM = """
local mk(i) = {apiVersion: "v1", kind: "ConfigMap", metadata: {name: "cm-%d" % i, labels: {a: std.extVar("x")}},
               data: {k: std.join(",", [std.toString(j) for j in std.range(0, 50)])}};
[mk(i) for i in std.range(0, std.parseInt(std.extVar("n")) - 1)]
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--objects", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    for module_name in ("_gojsonnet", "_jsonnet"):
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            print(json.dumps({"module": module_name, "installed": False}))
            continue
        start = time.perf_counter()
        for _ in range(args.rounds):
            output = module.evaluate_snippet("bench.jsonnet", PROGRAM, ext_vars={"x": "y", "n": str(args.objects)})
        seconds = (time.perf_counter() - start) / args.rounds
        objects = len(json.loads(output))
        print(json.dumps({"module": module_name, "seconds_per_eval": round(seconds, 4), "objects": objects}))


if __name__ == "__main__":
    main()
