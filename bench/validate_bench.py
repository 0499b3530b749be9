"""Cost of validating and parsing procedure models, and of the spec-once serializer.

Run: .venv/bin/python bench/validate_bench.py [--repeat N]
Prints medians (ms) for: validate (all checks, no parse kept) and compile_model
(validate + SpiffWorkflow parse) on the birth registration model and on generated
10/30/100-step models; serializing the spec once; instance to/from JSON without the
spec vs with it embedded; and the worst-case inputs the validator refuses (2 MB file,
element flood, entity bomb, deep nesting, expression abuse), which must answer fast.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from SpiffWorkflow import TaskState  # noqa: E402

from engine.procedure import compile_model, validate_source  # noqa: E402
from engine.procedure.expressions import _compile_cached  # noqa: E402
from engine.procedure.forms import _form_error  # noqa: E402
from engine.procedure.serializer import SERIALIZER, instance_from_json, instance_to_json, new_workflow  # noqa: E402
from engine.procedure.serializer import spec_to_json  # noqa: E402
from tests.procedure_fixtures.builder import FORMS, LONG_MODEL_FORMS, long_model, small_valid_model  # noqa: E402
from bench.common import median_ms  # noqa: E402

BIRTH = REPO / "bpmn" / "1.001193-birth-registration.bpmn"


def once_ms(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return (time.perf_counter() - t0) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    repeat = args.repeat

    birth_source = BIRTH.read_bytes()
    birth_forms_dir = BIRTH.parent / "forms"
    models = [
        ("birth registration (6 steps)", birth_source, {"forms_dir": birth_forms_dir}),
        ("generated 10 steps", long_model(10).encode(), {"forms": LONG_MODEL_FORMS}),
        ("generated 30 steps", long_model(30).encode(), {"forms": LONG_MODEL_FORMS}),
        ("generated 100 steps", long_model(100, time_limit="P30D").encode(), {"forms": LONG_MODEL_FORMS}),
    ]
    print(f"median of {repeat} runs; milliseconds. cold = form and expression caches cleared before each run")
    print("(a model's first upload); warm = forms already checked once in this process.")
    print(f"{'model':30} {'bytes':>7} {'validate cold':>14} {'validate warm':>14} {'compile warm':>13} {'cold/warm':>10}")
    for label, source, kwargs in models:
        report = validate_source(source, label, **kwargs)
        assert report.ok, report.problems

        def cold() -> None:
            _form_error.cache_clear()
            _compile_cached.cache_clear()
            validate_source(source, label, **kwargs)

        vc = median_ms(cold, repeat)
        vw = median_ms(lambda: validate_source(source, label, **kwargs), repeat)
        cw = median_ms(lambda: compile_model(source, label, **kwargs), repeat)
        print(f"{label:30} {len(source):>7} {vc:>14.2f} {vw:>14.2f} {cw:>13.2f} {vc / vw:>9.2f}x")

    print()
    model30 = compile_model(long_model(30).encode(), "30", forms=LONG_MODEL_FORMS)
    spec_ms = median_ms(lambda: spec_to_json(model30.spec, model30.subprocess_specs), repeat)
    print(f"serialize spec once (30 steps): {spec_ms:.2f} ms, {len(model30.serialized_spec)} bytes")
    workflow = new_workflow(model30)
    workflow.do_engine_steps()
    for _ in range(10):
        task = workflow.get_tasks(state=TaskState.READY, manual=True)[0]
        task.data["outcome"] = "approve"
        task.run()
        workflow.do_engine_steps()
    without = instance_to_json(workflow)
    embedded = SERIALIZER.serialize_json(workflow)
    to_ms = median_ms(lambda: instance_to_json(workflow), repeat)
    from_ms = median_ms(lambda: instance_from_json(without, model30), repeat)
    emb_to = median_ms(lambda: SERIALIZER.serialize_json(workflow), repeat)
    emb_from = median_ms(lambda: SERIALIZER.deserialize_json(embedded), repeat)
    print(f"instance after 10 steps, spec stored once: {len(without):>7} bytes, to {to_ms:.2f} ms, from {from_ms:.2f} ms")
    print(f"instance after 10 steps, spec embedded:    {len(embedded):>7} bytes, to {emb_to:.2f} ms, from {emb_from:.2f} ms")
    print(f"size ratio embedded/stored-once: {len(embedded) / len(without):.2f}x")

    print()
    print("hostile inputs (single run each; every one must be refused quickly)")
    valid = small_valid_model()
    hostile = {
        "2 MB + 1 byte file": valid.replace("</bpmn:definitions>",
                                            "<!--" + "x" * (2 * 1024 * 1024) + "--></bpmn:definitions>"),
        "1.9 MB of documentation elements": valid.replace(
            '<bpmn:startEvent id="start">',
            '<bpmn:startEvent id="start">' + "<bpmn:documentation>x</bpmn:documentation>" * 45_000),
        "entity expansion bomb": '<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "' + "x" * 1000 + '">'
                                 + "".join(f'<!ENTITY a{i} "{"&a;" * 10}">' for i in range(10)) + ']><d>&a9;</d>',
        "element nesting 10,000 deep": "<a>" * 10_000 + "</a>" * 10_000,
        "600 flow nodes (limit is 500)": long_model(400, step_duration="PT1M", time_limit="P100D"),
        "480 flow nodes, 60 loops (valid)": long_model(300, step_duration="PT1M", time_limit="P100D"),
        "1000 conditions of 1000 chars": valid.replace(
            "outcome == 'approve'", "outcome == 'approve' or " + " or ".join(["outcome == 'x'"] * 60)).replace(
            '<bpmn:endEvent id="end_ok" />', '<bpmn:endEvent id="end_ok" />' + "".join(
                f'<bpmn:sequenceFlow id="c{i}" sourceRef="gw" targetRef="sign"><bpmn:conditionExpression>'
                + "(" * 150 + "1" + ")" * 150 + " + " + "1 + " * 170 + "1"
                + "</bpmn:conditionExpression></bpmn:sequenceFlow>" for i in range(1000))),
    }
    for label, text in hostile.items():
        data = text.encode()
        holder: list = []
        ms = once_ms(lambda: holder.append(validate_source(data, label, forms={**FORMS, **LONG_MODEL_FORMS})))
        codes = sorted({p.code for p in holder[0].problems}) or ["(valid)"]
        print(f"  {label:34} {len(data) / 1024:>8.0f} KiB {ms:>9.1f} ms  -> {', '.join(codes)[:70]}")


if __name__ == "__main__":
    main()
