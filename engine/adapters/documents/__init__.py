"""Printable documents: the ISO procedure document, the commune's posting sheet and the
dossier forms of the one-stop desk (receipt slip, supplementation request, refusal,
apology letter, stop notice, process control sheet, register), as self-contained HTML and A4 PDF."""
from .dossier_forms import FORM_EDITIONS, form_spec, render_dossier_form, render_form, render_register
from .posting import Commune, PostedProcedure, posting_sheet
from .printing import render_posting_sheet, render_procedure
from .procedure import ProcedureDocument, VersionRecord, document_data, procedure_document, version_records
from .render import FONT_STACK, qr_svg, to_pdf

__all__ = [
    "FONT_STACK", "FORM_EDITIONS", "Commune", "PostedProcedure", "ProcedureDocument", "VersionRecord",
    "document_data", "form_spec", "posting_sheet", "procedure_document", "qr_svg", "render_dossier_form",
    "render_form", "render_posting_sheet", "render_procedure", "render_register", "to_pdf", "version_records",
]
