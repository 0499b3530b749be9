"""Process metadata: known property names, and the procedure's code, field, name and
statutory limits judged by `rules.judge_process` (the parser reads them the same way)."""
from __future__ import annotations

from lxml import etree

from engine.domain import vocabulary as v

from ..parser import process_metadata, read_properties
from ..specs import ProcessMetadata
from .context import ModelContext


def check_process(ctx: ModelContext, process: etree._Element) -> ProcessMetadata | None:
    bad = False
    for name in read_properties(process):
        if name not in v.PROCESS_PROPERTIES and not name.startswith(v.CATEGORY_LIMIT_PREFIX):
            bad = True
            known = ", ".join(sorted(v.PROCESS_PROPERTIES))
            ctx.add("property_unknown", f"Thuộc tính quy trình {name!r} không có trong bộ từ vựng.",
                    f"Unknown process property {name!r}.",
                    f"Process properties: {known}, time_limit.<category>.",
                    f"Các thuộc tính của quy trình: {known}, time_limit.<loại xã>.", process)
    metadata, issues = process_metadata(process)
    for issue in issues:
        ctx.add_issue(issue, process)
    return None if bad else metadata
