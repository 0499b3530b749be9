"""ProcedureModel: a validated model version, parsed once and serialized once.

Compiled from the specs the dialect's parser builds: `metadata` is the process spec's,
`steps` are read off its `IsoUserTask` (and twin) specs, in the order and with the
remaining times the validation's graph analysis found. Instances reference the model by
`content_hash` instead of embedding its spec; the runtime rebuilds a model from stored
source + forms with `ProcedureModel.from_serialized`
(cached per runtime by content hash, `ModelCache`)."""
from __future__ import annotations

import hashlib
from datetime import timedelta
from functools import cached_property
from pathlib import Path
from typing import Any

from engine.caching import LruCache
from engine.errors import InvalidInput

from .expressions import SafeScriptEngine
from .forms import canonical_json
from .specs import IsoProcessSpec, IsoStep, ProcessMetadata, StepDefinition
from .validation import analyse


def content_hash(source: bytes, forms: dict[str, Any]) -> str:
    digest = hashlib.sha256(source)
    digest.update(b"\0forms\0")
    digest.update(canonical_json(forms).encode("utf-8"))
    return digest.hexdigest()


class ProcedureModel:
    def __init__(self, *, metadata: ProcessMetadata, steps: dict[str, StepDefinition], step_order: list[str],
                 forms: dict[str, Any], source: bytes, spec: Any, subprocess_specs: dict[str, Any],
                 gateway_variables: frozenset[str], remaining: dict[str, timedelta],
                 trusted_scripts: bool = False) -> None:
        self.metadata = metadata
        self.steps = steps
        self._order = step_order
        self.forms = forms
        self.source = source
        self.content_hash = content_hash(source, forms)
        self.spec = spec
        self.subprocess_specs = subprocess_specs
        self.gateway_variables = gateway_variables
        self._remaining = remaining
        self.trusted_scripts = trusted_scripts

    def __repr__(self) -> str:
        return f"<ProcedureModel {self.metadata.procedure_code} {self.metadata.process_id} {self.content_hash[:12]}>"

    def steps_in_order(self) -> list[StepDefinition]:
        """Steps in a topological order (loops cut once), for documents and the steps table."""
        return [self.steps[i] for i in self._order]

    def remaining_duration(self, bpmn_id: str) -> timedelta:
        """Longest running-clock path from this step (itself included) to an end."""
        try:
            return self._remaining[bpmn_id]
        except KeyError:
            raise KeyError(f"{bpmn_id!r} is not a human step of {self.metadata.process_id}") from None

    @property
    def longest_duration(self) -> timedelta:
        return max(self._remaining.values(), default=timedelta(0))

    def script_engine(self) -> SafeScriptEngine:
        return SafeScriptEngine(trusted_scripts=self.trusted_scripts)

    @cached_property
    def serialized_spec(self) -> str:
        """The spec and subprocess specs as JSON, made once per model version."""
        from .serializer import spec_to_json

        return spec_to_json(self.spec, self.subprocess_specs)

    @classmethod
    def from_serialized(cls, source: bytes, forms: dict[str, Any], *, trusted_scripts: bool = False) -> "ProcedureModel":
        """Rebuild a stored model version (source + forms), validating it again."""
        return compile_model(source, f"<stored {content_hash(source, forms)[:12]}>", forms=forms,
                             trusted_scripts=trusted_scripts)


def compile_model(source: bytes, filename: str, *, forms: dict[str, Any] | None = None,
                  forms_dir: Path | None = None, trusted_scripts: bool = False) -> ProcedureModel:
    """Validate and parse a model; raise InvalidInput listing every problem."""
    problems, analysis = analyse(source, filename, forms=forms, forms_dir=forms_dir, trusted_scripts=trusted_scripts)
    if problems or analysis is None:
        raise InvalidInput(
            f"The procedure model {filename} is invalid ({len(problems)} problem(s)).",
            f"Mô hình quy trình {filename} không hợp lệ ({len(problems)} lỗi).",
            code="model_invalid",
            hint="Fix each listed problem (run `isoflow validate FILE` for the same report).",
            problems=problems,
        )
    spec: IsoProcessSpec = analysis.spec
    parsed = {step.bpmn_id: step.step_definition() for step in iso_steps(spec, analysis.subprocess_specs)}
    steps = {bpmn_id: parsed[bpmn_id] for bpmn_id in analysis.document_order}
    return ProcedureModel(
        metadata=spec.metadata, steps=steps, step_order=analysis.step_order, forms=analysis.forms,
        source=source if isinstance(source, bytes) else source.encode("utf-8"), spec=spec,
        subprocess_specs=analysis.subprocess_specs, gateway_variables=analysis.gateway_variables,
        remaining=analysis.remaining(), trusted_scripts=trusted_scripts,
    )


def iso_steps(spec: Any, subprocess_specs: dict[str, Any]) -> list[IsoStep]:
    """The human steps of a process and its embedded subprocesses, as parsed."""
    found: list[IsoStep] = []
    for process_spec in (spec, *subprocess_specs.values()):
        found.extend(t for t in process_spec.task_specs.values() if isinstance(t, IsoStep))
    return found


class ModelCache:
    """Models by content hash, parsed once per runtime; bounded, thread-safe."""

    def __init__(self, capacity: int = 256) -> None:
        self._models: LruCache[str, ProcedureModel] = LruCache(capacity)

    @property
    def capacity(self) -> int:
        return self._models.capacity

    def get(self, source: bytes, forms: dict[str, Any], *, trusted_scripts: bool = False) -> ProcedureModel:
        key = content_hash(source, forms) + (":trusted" if trusted_scripts else "")
        return self._models.get_or_load(
            key, lambda: ProcedureModel.from_serialized(source, forms, trusted_scripts=trusted_scripts))

    def __len__(self) -> int:
        return len(self._models)
