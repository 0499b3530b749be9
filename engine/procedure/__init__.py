"""The ISO dialect of SpiffWorkflow: vocabulary, hardened parsing, validation, safe
expressions, the compiled `ProcedureModel` and spec-once serialization."""
from .expressions import SafeScriptEngine, UnsafeExpression, compile_expression, safe_evaluate
from .model import ModelCache, ProcedureModel, compile_model, content_hash
from .specs import ProcessMetadata, StepDefinition
from .validator import ValidationReport, validate_file, validate_source

__all__ = [
    "ModelCache", "ProcedureModel", "ProcessMetadata", "SafeScriptEngine", "StepDefinition",
    "UnsafeExpression", "ValidationReport", "compile_expression", "compile_model", "content_hash",
    "safe_evaluate", "validate_file", "validate_source",
]
