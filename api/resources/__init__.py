"""REST resources under /api, one flask-smorest blueprint per area."""
from __future__ import annotations

import importlib

# module -> its `blp` (flask_smorest.Blueprint); each may also define `setup(extension)`.
MODULES = (
    "api.resources.auth",
    "api.resources.people",
    "api.resources.procedures",
    "api.resources.dossiers",
    "api.resources.forms",
    "api.resources.documents",
    "api.resources.integration",
    "api.resources.attachments",
    "api.resources.statistics",
    "api.resources.notifications",
    "api.resources.calendar",
    "api.resources.audit",
    "api.resources.public",
    "api.resources.quality",
)


def register_resources(api, extension) -> None:
    for name in MODULES:
        module = importlib.import_module(name)
        api.register_blueprint(module.blp)
        if hasattr(module, "setup"):
            module.setup(extension)
