"""Cost of printable documents: HTML templating versus WeasyPrint's PDF, per document kind.

Run: .venv/bin/python bench/documents_bench.py [--repeat N]
Prints medians (ms) for: the procedure document of the birth registration model and of
the largest library model (HTML, PDF, pages); the posting sheet of the whole library;
the receipt slip and the process control sheet of a dossier on an in-memory SQLite
database (HTML, PDF); a QR code alone. The ratio PDF/HTML says where the time goes.
"""
from __future__ import annotations

import argparse
import io
import sys
import tempfile
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from pypdf import PdfReader  # noqa: E402

from engine.domain.clock import FixedClock  # noqa: E402
from engine.adapters.db.migrate import upgrade  # noqa: E402
from engine.adapters.db.session import Database  # noqa: E402
from engine.adapters.documents import procedure_document, qr_svg, render_dossier_form, to_pdf  # noqa: E402
from engine.adapters.documents.posting import Commune, posting_sheet  # noqa: E402
from engine.procedure import compile_model  # noqa: E402
from engine.runtime import Runtime  # noqa: E402
from engine.services import dossiers  # noqa: E402
from engine.views import dossiers as views
from engine.services.dossiers import Applicant  # noqa: E402
from tests.support import build_world  # noqa: E402
from bench.common import median_ms  # noqa: E402

LIBRARY = sorted((REPO / "bpmn").glob("*.bpmn"))
URL = "https://dichvucong.tuyenquang.gov.vn/tra-cuu"


def pages(pdf: bytes) -> int:
    return len(PdfReader(io.BytesIO(pdf)).pages)


def row(label: str, html_ms: float, pdf_ms: float, n_pages: int) -> None:
    print(f"{label:<44} html {html_ms:8.2f} ms   pdf {pdf_ms:8.1f} ms   {n_pages} page(s)   pdf/html x{pdf_ms / html_ms:,.0f}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    r = args.repeat

    models = [compile_model(p.read_bytes(), p.name, forms_dir=p.parent / "forms") for p in LIBRARY]
    birth = next(m for m in models if m.metadata.procedure_code == "1.001193")
    largest = max(models, key=lambda m: len(m.steps))
    print(f"library: {len(models)} models; largest {largest.metadata.procedure_code} with {len(largest.steps)} steps")
    for label, model in (("procedure document 1.001193 (birth)", birth),
                         (f"procedure document {largest.metadata.procedure_code} (largest)", largest)):
        page = procedure_document(model)
        row(label, median_ms(lambda: procedure_document(model), r), median_ms(lambda: to_pdf(page), r),
            pages(to_pdf(page)))
    commune = Commune("Xã Tri Phú", "Thôn Đồng Tâm", "normal")
    sheet = posting_sheet(commune, models, URL)
    row(f"posting sheet ({len(models)} procedures)", median_ms(lambda: posting_sheet(commune, models, URL), r),
        median_ms(lambda: to_pdf(sheet), r), pages(to_pdf(sheet)))
    print(f"{'QR code alone (segno, inline SVG)':<44} {median_ms(lambda: qr_svg(URL + '?code=TRIPHU-260303-0001'), r * 20):8.2f} ms")

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.db"
        upgrade(url)
        clock = FixedClock(datetime(2026, 3, 3, 10, 0, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh")))
        rt = Runtime(Database(url), clock)
        world = build_world(rt)
        receipt = dossiers.receive(rt, world.actor("clerk"), unit_code="TRIPHU", procedure_code="9.000001",
                                   applicant=Applicant("Nguyễn Văn An"), channel=1)
        for actor, data in (("clerk", {}), ("officer", {"outcome": "approve"}), ("chair", {"outcome": "approve"})):
            clock.advance(timedelta(hours=1))
            [task] = [t for t in views.inbox(rt, world.actor(actor)) if t.dossier_id == receipt.dossier_id]
            dossiers.complete_task(rt, world.actor(actor), task.id, data)
        clerk = world.actor("clerk")
        for form, label in (("01", "receipt slip (form 01, with QR)"), ("05", "process control sheet (form 05)")):
            def html(form=form):
                return render_dossier_form(rt, clerk, receipt.code, form, "html", pin=receipt.pin, lookup_url=URL)

            def pdf(form=form):
                return render_dossier_form(rt, clerk, receipt.code, form, "pdf", pin=receipt.pin, lookup_url=URL)
            row(label + " from the database", median_ms(html, r), median_ms(pdf, r), pages(pdf()))
        rt.db.dispose()


if __name__ == "__main__":
    main()
