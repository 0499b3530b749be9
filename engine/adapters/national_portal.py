"""The exchange with the province's one-stop system and the National Public Service
Portal, behind one interface (`NationalPortal`), so the real connector is a drop-in
(docs/integration.md).

Two directions:
- in: a dossier submitted online on the portal (`OnlineSubmission`) is received by
  isoflow as channel 2 (`engine.services.national_portal.receive_online`);
- out: each status change of a dossier (`StatusRecord`) goes back to the portal.

The record shapes are isoflow's: the national status code (1-10, docs/domain.md §3) and
the national procedure code carry over as they are; the portal's own field names are
set by its integration specification, which a real connector translates to (they are
not reproduced here, see docs/integration.md).

`JsonLinesPortal` is the one adapter shipped: it writes status records as JSON lines to
`<directory>/status.jsonl` and reads submissions from `<directory>/submissions.jsonl`,
remembering how far it read in `<directory>/submissions.offset`, so a file-based
exchange (a shared folder, an SFTP drop) works today and tests need no network.
"""
from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterator, Protocol

CHANNEL_ONLINE = 2


@dataclass(frozen=True)
class OnlineSubmission:
    """A dossier submitted online, as the portal hands it over."""

    portal_code: str  # the portal's own code of the submission (isoflow keeps it, answers with it)
    unit_code: str  # the commune that receives it
    procedure_code: str  # the national procedure code (e.g. 1.001193)
    applicant_name: str
    applicant_id_number: str = ""
    applicant_address: str = ""
    applicant_phone: str = ""
    applicant_email: str = ""
    submitted_at: str | None = None  # ISO 8601, as the portal recorded it
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class StatusRecord:
    """A dossier's status as the portal is told it."""

    portal_code: str | None  # None for a dossier received at the desk (the portal learns its isoflow code)
    dossier_code: str
    unit_code: str
    procedure_code: str
    status_code: int  # the national status, 1-10
    status_vi: str
    occurred_at: str  # ISO 8601 UTC
    due_at: str | None
    received_at: str | None
    event_id: str  # the isoflow event it reports (the receiver de-duplicates on it)


class NationalPortal(Protocol):
    def publish_status(self, record: StatusRecord) -> None:
        """Tell the portal a dossier's status; raise OSError (or a subclass) to be retried."""

    def submissions(self) -> Iterator[OnlineSubmission]:
        """The online submissions not yet handed over; each is handed over once after
        `acknowledge` is called for it."""

    def acknowledge(self, submission: OnlineSubmission) -> None:
        """The submission is received in isoflow; do not hand it over again."""


class JsonLinesPortal:
    """The file exchange: one JSON object per line, UTF-8."""

    STATUS_FILE = "status.jsonl"
    SUBMISSIONS_FILE = "submissions.jsonl"
    OFFSET_FILE = "submissions.offset"

    def __init__(self, directory: Path | str) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self._offsets: dict[str, int] = {}  # portal_code -> the byte offset after its line

    def publish_status(self, record: StatusRecord) -> None:
        line = json.dumps(asdict(record), ensure_ascii=False, sort_keys=True) + "\n"
        with open(self.directory / self.STATUS_FILE, "a", encoding="utf-8") as out:
            out.write(line)
            out.flush()
            os.fsync(out.fileno())

    def status_records(self) -> list[dict[str, Any]]:
        path = self.directory / self.STATUS_FILE
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]

    def _offset(self) -> int:
        path = self.directory / self.OFFSET_FILE
        return int(path.read_text().strip() or 0) if path.exists() else 0

    def submissions(self) -> Iterator[OnlineSubmission]:
        path = self.directory / self.SUBMISSIONS_FILE
        if not path.exists():
            return
        with open(path, "rb") as source:
            source.seek(self._offset())
            while True:
                line = source.readline()
                if not line or not line.endswith(b"\n"):  # a line still being written waits for the next read
                    return
                if not line.strip():
                    continue
                item = json.loads(line.decode("utf-8"))
                submission = OnlineSubmission(**item)
                self._offsets[submission.portal_code] = source.tell()
                yield submission

    def acknowledge(self, submission: OnlineSubmission) -> None:
        offset = self._offsets.pop(submission.portal_code, None)
        if offset is not None and offset > self._offset():
            temporary = self.directory / (self.OFFSET_FILE + ".tmp")
            temporary.write_text(str(offset))
            temporary.replace(self.directory / self.OFFSET_FILE)
