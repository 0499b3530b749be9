"""Compiled procedure models, cached per process by content hash.

A version's source and forms are immutable once stored, so a compiled model can be
shared by every dossier pinned to that version; it is parsed once per process.
"""
from __future__ import annotations

import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engine.db.models import ProcedureVersion
    from engine.procedure.model import ProcedureModel


class ModelCache:
    def __init__(self, trusted_scripts: bool = False) -> None:
        self._trusted_scripts = trusted_scripts
        self._models: dict[str, "ProcedureModel"] = {}
        self._lock = threading.Lock()

    def get(self, version: "ProcedureVersion") -> "ProcedureModel":
        model = self._models.get(version.content_hash)
        if model is None:
            from engine.procedure import compile_model

            model = compile_model(
                version.source, version.filename, forms=version.forms, trusted_scripts=self._trusted_scripts
            )
            with self._lock:
                self._models.setdefault(version.content_hash, model)
        return model

    def put(self, model: "ProcedureModel") -> None:
        with self._lock:
            self._models.setdefault(model.content_hash, model)
