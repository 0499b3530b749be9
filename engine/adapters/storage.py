"""Where attachment files live: a small key -> bytes store outside the database.

`BlobStorage` is the whole interface the engine uses (put, get, delete by key). The
default is `FileSystemStorage`, a directory (`ISOFLOW_ATTACHMENT_DIR`, `var/attachments`
unless set). A deployment that keeps files in S3-compatible object storage writes a
class with the same three methods (put_object / get_object / delete_object of its S3
client, the key as object key, one bucket) and sets `runtime.storage` to it after
building the runtime; nothing else changes (docs/web.md, "Attachments").
"""
from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from typing import Protocol

from engine.errors import NotFound

# Keys are made by the engine (`<dossier id>/<random hex>`), never from a user's file
# name; the pattern keeps any other key from leaving the storage directory.
KEY_PATTERN = re.compile(r"^[0-9]{1,12}/[0-9a-f]{32}$")


class BlobStorage(Protocol):
    def put(self, key: str, data: bytes) -> None: ...

    def get(self, key: str) -> bytes: ...

    def delete(self, key: str) -> None: ...


def check_key(key: str) -> str:
    if not KEY_PATTERN.fullmatch(key):
        raise ValueError(f"not a storage key: {key!r}")
    return key


class FileSystemStorage:
    """Files under one directory, one file per key; a put is atomic (a temporary file
    renamed into place), so a reader never sees half a file."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    def put(self, key: str, data: bytes) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def get(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            raise NotFound(f"attachment file {key} is missing from the storage",
                           f"không tìm thấy tệp đính kèm {key} trong kho lưu trữ", code="attachment_missing",
                           hint="restore the attachment directory from the backup") from None

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)


def storage_for(attachment_dir: Path | str) -> BlobStorage:
    return FileSystemStorage(attachment_dir)
