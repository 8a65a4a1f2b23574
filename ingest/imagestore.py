"""The ``ImageStore`` port: where rendered thumbnails, covers and photos are kept.

Keys are relative POSIX paths (``items/42/thumb-3.webp``). Adapters: ``LocalImageStore`` (a
folder; atomic writes) and ``S3ImageStore`` (a bucket, optionally under a prefix). Both refuse
keys that could escape their root with ``ValueError`` and raise ``OSError`` when the storage
itself fails; a missing key is ``KeyError`` on ``get`` and not an error elsewhere.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Any, Protocol

import anyio.to_thread

from ingest.sources.s3 import error_code, error_reason, s3_errors

_MISSING = frozenset({"404", "NoSuchKey", "NotFound"})


def check_key(key: str) -> str:
    """``key`` if it is a clean relative path, else ValueError. Pure."""
    parts = key.split("/")
    if (
        not key
        or key.startswith("/")
        or "\\" in key
        or "\0" in key
        or any(part in {"", ".", ".."} for part in parts)
    ):
        raise ValueError(f"image key {key!r} is not a relative path")
    return key


class ImageStore(Protocol):
    """Blocking semantics: every method is async and never blocks the event loop."""

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        """Store ``data`` under ``key``, replacing what was there. Readers never see half a
        file."""
        ...

    async def get(self, key: str) -> bytes:
        """The stored bytes; KeyError when there are none."""
        ...

    async def delete(self, key: str) -> None:
        """Remove ``key``; a missing key is fine."""
        ...

    async def exists(self, key: str) -> bool: ...


class LocalImageStore:
    """Images as files under ``root``. Writes go to a temporary file in the same folder, are
    flushed to disk, then renamed over the target (``os.replace``), all in worker threads."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path_for(self, key: str) -> Path:
        """The file behind ``key`` (for serving it with sendfile). Pure."""
        return self.root / check_key(key)

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        await anyio.to_thread.run_sync(self._put, self.path_for(key), data)

    @staticmethod
    def _put(path: Path, data: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=path.suffix)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())  # a crash must not leave an empty image behind the name
            os.chmod(temp, 0o644)
            os.replace(temp, path)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise

    async def get(self, key: str) -> bytes:
        path = self.path_for(key)
        try:
            return await anyio.to_thread.run_sync(path.read_bytes)
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            raise KeyError(key) from None

    async def delete(self, key: str) -> None:
        path = self.path_for(key)
        with contextlib.suppress(FileNotFoundError, NotADirectoryError):
            await anyio.to_thread.run_sync(path.unlink)

    async def exists(self, key: str) -> bool:
        return await anyio.to_thread.run_sync(self.path_for(key).is_file)


class S3ImageStore:
    """Images as objects in ``bucket`` under ``prefix``. The client belongs to the caller."""

    def __init__(self, client: Any, bucket: str, prefix: str = "") -> None:
        self.client = client
        self.bucket = bucket
        prefix = prefix.strip("/")
        self.prefix = f"{prefix}/" if prefix else ""

    def object_key(self, key: str) -> str:
        """The S3 key behind ``key``. Pure."""
        return self.prefix + check_key(key)

    def _failed(self, key: str, exc: BaseException) -> OSError:
        return OSError(f"s3://{self.bucket}/{self.prefix}{key}: {error_reason(exc)}")

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        """A single PUT: S3 makes it visible all at once."""
        try:
            await self.client.put_object(
                Bucket=self.bucket,
                Key=self.object_key(key),
                Body=data,
                ContentType=content_type,
                # keys carry the item version, so a key's bytes never change
                CacheControl="public, max-age=31536000, immutable",
            )
        except s3_errors() as exc:
            raise self._failed(key, exc) from exc

    async def get(self, key: str) -> bytes:
        try:
            response = await self.client.get_object(Bucket=self.bucket, Key=self.object_key(key))
            async with response["Body"] as body:
                data: bytes = await body.read()
        except s3_errors() as exc:
            if error_code(exc) in _MISSING:
                raise KeyError(key) from None
            raise self._failed(key, exc) from exc
        return data

    async def delete(self, key: str) -> None:
        try:
            await self.client.delete_object(Bucket=self.bucket, Key=self.object_key(key))
        except s3_errors() as exc:
            if error_code(exc) not in _MISSING:
                raise self._failed(key, exc) from exc

    async def exists(self, key: str) -> bool:
        try:
            await self.client.head_object(Bucket=self.bucket, Key=self.object_key(key))
        except s3_errors() as exc:
            if error_code(exc) in _MISSING:
                return False
            raise self._failed(key, exc) from exc
        return True


def _adapters_conform(local: LocalImageStore, s3: S3ImageStore) -> tuple[ImageStore, ImageStore]:
    """Never called: mypy checks here that both adapters implement the port."""
    return local, s3
