"""Speed of the table -> BPMN import over the procedure library: read + check a table,
generate the BPMN (with the diagram), read it back, and validate it with the procedure
validator for comparison. Prints medians per model and ratios.

    .venv/bin/python bench/import_table.py [repeats]
"""
from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

from engine.procedure import validate_source
from engine.procedure.table_import import bpmn_to_table, table_to_bpmn
from engine.procedure.table_model import read_table

ROOT = Path(__file__).resolve().parent.parent / "bpmn"


def median_seconds(fn, repeats: int) -> float:
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main(repeats: int = 30) -> None:
    tables = sorted((ROOT / "tables").glob("*.yaml"))
    parsed = [read_table(t) for t in tables]
    xmls = [table_to_bpmn(t) for t in parsed]
    forms = ROOT / "forms"
    read = median_seconds(lambda: [read_table(t) for t in tables], repeats) / len(tables)
    gen = median_seconds(lambda: [table_to_bpmn(t) for t in parsed], repeats) / len(tables)
    back = median_seconds(lambda: [bpmn_to_table(x) for x in xmls], repeats) / len(tables)
    val = median_seconds(lambda: [validate_source(x, "m.bpmn", forms_dir=forms) for x in xmls], max(3, repeats // 5)) / len(tables)
    size = statistics.median(len(x) for x in xmls)
    steps = statistics.median(len(t.steps) for t in parsed)
    print(f"library: {len(tables)} tables, median {steps:.0f} steps, median BPMN {size / 1024:.1f} KiB")
    print(f"read + check table    {read * 1e3:8.2f} ms/model")
    print(f"generate BPMN + DI    {gen * 1e3:8.2f} ms/model")
    print(f"read BPMN back        {back * 1e3:8.2f} ms/model")
    print(f"validate (reference)  {val * 1e3:8.2f} ms/model")
    print(f"import (read+generate) / validate = {(read + gen) / val:.2f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 30)
