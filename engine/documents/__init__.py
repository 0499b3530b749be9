"""Printable documents: the ISO procedure document, the commune's posting sheet and the
dossier forms of the one-stop desk (receipt slip, supplementation request, refusal,
apology letter, process control sheet), as self-contained HTML and A4 PDF."""
from .procedure import ProcedureDocument, VersionRecord, document_data, procedure_document, version_records
from .render import FONT_STACK, qr_svg, to_pdf

__all__ = [
    "FONT_STACK", "ProcedureDocument", "VersionRecord", "document_data", "procedure_document", "qr_svg", "to_pdf",
    "version_records",
]
