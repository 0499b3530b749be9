"""The ISO dialect of SpiffWorkflow, laid out as SpiffWorkflow's own dialects are:
`specs` (IsoUserTask..., IsoProcessSpec), `parser` (builds them), `serializer` (ISO_CONFIG,
spec-once storage); plus the dialect's `rules`, `validation` (one module per concern),
safe `expressions`, `forms` and the compiled `ProcedureModel`."""
from .expressions import SafeScriptEngine, UnsafeExpression, compile_expression, safe_evaluate
from .model import ModelCache, ProcedureModel, compile_model, content_hash
from .specs import IsoManualTask, IsoNoneTask, IsoProcessSpec, IsoUserTask, ProcessMetadata, StepDefinition
from .validation import ValidationReport, validate_file, validate_source

__all__ = [
    "IsoManualTask", "IsoNoneTask", "IsoProcessSpec", "IsoUserTask", "ModelCache",
    "ProcedureModel", "ProcessMetadata", "SafeScriptEngine", "StepDefinition",
    "UnsafeExpression", "ValidationReport", "compile_expression", "compile_model", "content_hash",
    "safe_evaluate", "validate_file", "validate_source",
]
