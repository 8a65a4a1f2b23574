"""``S3Source``: a library under a prefix of an S3 bucket (AWS, MinIO, Ceph, moto ...).

Listing and HEAD requests run on the event loop through the aioboto3 client. Reading happens in
worker threads (PyAV and Pillow read synchronously): ``S3RangeReader`` turns reads into HTTP
Range GETs, submitted to the event loop with ``anyio.from_thread.run``, and keeps a few
fixed-size blocks so a demuxer's many small reads become a few requests.
"""

from __future__ import annotations

import functools
import io
import os
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, BinaryIO, TypeVar, cast

import anyio.from_thread
import anyio.lowlevel
import structlog

from ingest.errors import SourceError, Unreadable
from ingest.models import Entry
from ingest.sources.base import SourceStatistics

log = structlog.get_logger(__name__)

MIB = 1024 * 1024
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MISSING = frozenset({"404", "NoSuchKey", "NotFound"})
_T = TypeVar("_T")


@functools.cache
def s3_errors() -> tuple[type[BaseException], ...]:
    """What a request to S3 can fail with once the client has been created: service answers,
    botocore's own errors (connection refused, timeouts) and aiohttp's payload errors.

    aioboto3, botocore and aiohttp weigh about 40 MB of resident memory: they are imported on
    the first use of S3, so a server whose libraries are all local folders never loads them."""
    import aiohttp  # noqa: PLC0415 (on first use of S3)
    from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415

    return (ClientError, BotoCoreError, aiohttp.ClientError, OSError, TimeoutError)


@dataclass(frozen=True, slots=True)
class S3Config:
    endpoint_url: str | None
    region: str
    access_key_id: str | None
    secret_access_key: str | None
    read_block_size: int = MIB
    max_attempts: int = 4  # botocore "standard" retries, first attempt included


def open_s3_client(config: S3Config) -> AbstractAsyncContextManager[Any]:
    """An aioboto3 S3 client for ``config``; enter it once at start-up and share it.

    Timeouts are short for connecting and moderate for reading, retries use botocore's
    "standard" mode (exponential backoff on throttling and 5xx). A custom endpoint gets
    path-style addressing, which MinIO and moto need. Checksums are only computed and verified
    where S3 requires them: several S3-compatible stores reject the newer default trailers.
    """

    @asynccontextmanager
    async def client() -> AsyncIterator[Any]:
        import aioboto3  # noqa: PLC0415 (on first use of S3: see s3_errors)
        from botocore.config import Config as BotoConfig  # noqa: PLC0415

        boto_config = BotoConfig(
            connect_timeout=5,
            read_timeout=30,
            retries={"max_attempts": config.max_attempts, "mode": "standard"},
            max_pool_connections=32,
            s3={"addressing_style": "path"} if config.endpoint_url else None,
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        )
        session = aioboto3.Session()
        async with session.client(
            "s3",
            endpoint_url=config.endpoint_url,
            region_name=config.region,
            aws_access_key_id=config.access_key_id,
            aws_secret_access_key=config.secret_access_key,
            config=boto_config,
        ) as s3:
            yield s3

    return client()


def error_code(exc: BaseException) -> str:
    """The S3 error code of a ClientError ("NoSuchKey", "403" ...), else the exception name."""
    from botocore.exceptions import ClientError  # noqa: PLC0415 (loaded: S3 raised exc)

    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", "")) or "ClientError"
    return type(exc).__name__


def error_reason(exc: BaseException) -> str:
    code = error_code(exc)
    if code in _MISSING:
        return "no such object"
    if code in {"NoSuchBucket"}:
        return "no such bucket"
    if code in {"403", "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch"}:
        return f"access denied ({code})"
    if code in {"412", "PreconditionFailed"}:
        return "the object changed while it was being read"
    return f"{code}: {exc}"


def _mtime_ns(value: datetime | None) -> int | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return (value - _EPOCH) // timedelta(microseconds=1) * 1000


def _etag(value: str | None) -> str | None:
    return value.strip('"') if value else None


def _hidden(key: str) -> bool:
    return any(part.startswith(".") for part in key.split("/"))


@dataclass(frozen=True, slots=True)
class S3ReaderStatistics:
    size: int
    requests: int  # GET requests (a HEAD made to learn the size is counted too)
    bytes_fetched: int
    cache_hits: int  # blocks served from the cache


class S3RangeReader(io.RawIOBase):
    """A seekable, read-only file over one S3 object, read with Range GETs.

    Blocking: every method may wait on the network and must run in a worker thread of the
    event loop that owns ``client`` (an ``anyio.to_thread.run_sync`` thread, or any thread when
    ``token`` is given). Not safe for concurrent use by several threads.
    """

    def __init__(
        self,
        client: Any,
        bucket: str,
        key: str,
        *,
        size: int | None = None,
        block_size: int = MIB,
        cache_blocks: int = 4,
        token: anyio.lowlevel.EventLoopToken | None = None,
        location: str | None = None,
    ) -> None:
        super().__init__()
        if block_size <= 0 or cache_blocks <= 0:
            raise ValueError("block_size and cache_blocks must be positive")
        self._client = client
        self._bucket = bucket
        self._key = key
        self._block_size = block_size
        self._cache_blocks = cache_blocks
        self._token = token
        # Not ``name``: PyAV hands ``file.name`` to FFmpeg as the URL, and a URL-like
        # "s3://..." made the mov demuxer read the whole mdat while probing (3.3 of 3.3 MB
        # instead of 0.1 MB for an 8 s clip with a chapter track).
        self.location = location or f"s3://{bucket}/{key}"
        self._cache: OrderedDict[int, bytes] = OrderedDict()
        self._pos = 0
        self._requests = 0
        self._bytes = 0
        self._hits = 0
        self._etag: str | None = None
        if size is None:
            head = self._call(self._head)
            size = int(head["ContentLength"])
            self._etag = _etag(head.get("ETag"))
        self._size = size

    def __repr__(self) -> str:
        return f"<S3RangeReader {self.location}>"

    # --- bridging to the event loop ---

    def _call(self, func: Callable[[], Coroutine[Any, Any, _T]]) -> _T:
        try:
            anyio.lowlevel.current_token()
        except RuntimeError:
            pass  # a worker thread, as it must be
        else:  # on the event loop thread a blocking round trip to that loop would deadlock
            raise RuntimeError(f"{self.location}: S3RangeReader used on the event loop thread")
        try:
            return anyio.from_thread.run(func, token=self._token)
        except s3_errors() as exc:
            if isinstance(exc, Unreadable):
                raise
            raise Unreadable(f"{self.location}: {error_reason(exc)}") from exc

    async def _head(self) -> dict[str, Any]:
        self._requests += 1
        return cast(
            dict[str, Any], await self._client.head_object(Bucket=self._bucket, Key=self._key)
        )

    def _fetch(self, start: int, end: int) -> bytes:
        """Bytes [start, end) of the object, in one GET; pinned to the first ETag seen."""

        async def get() -> bytes:
            self._requests += 1
            extra = {"IfMatch": f'"{self._etag}"'} if self._etag else {}
            response = await self._client.get_object(
                Bucket=self._bucket, Key=self._key, Range=f"bytes={start}-{end - 1}", **extra
            )
            if self._etag is None:
                self._etag = _etag(response.get("ETag"))
            async with response["Body"] as body:
                return cast(bytes, await body.read())

        data = self._call(get)
        self._bytes += len(data)
        if len(data) != end - start:
            raise Unreadable(
                f"{self.location}: asked for bytes {start}-{end - 1}, got {len(data)} bytes "
                "(the object is shorter than listed)"
            )
        return data

    # --- io.RawIOBase ---

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        self._checkClosed()
        return self._pos

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        self._checkClosed()
        if whence == os.SEEK_SET:
            position = offset
        elif whence == os.SEEK_CUR:
            position = self._pos + offset
        elif whence == os.SEEK_END:
            position = self._size + offset
        else:
            raise ValueError(f"invalid whence {whence}")
        if position < 0:
            raise ValueError(f"negative seek position {position}")
        self._pos = position
        return position

    def readinto(self, buffer: Any) -> int:
        self._checkClosed()
        view = memoryview(buffer).cast("B")
        start = self._pos
        end = min(start + len(view), self._size)
        if end <= start:
            return 0
        size = self._block_size
        filled = 0
        index, last = start // size, (end - 1) // size
        while index <= last:
            run_end = index
            if index in self._cache:
                self._cache.move_to_end(index)
                self._hits += 1
                blocks = [self._cache[index]]
            else:
                while run_end < last and (run_end + 1) not in self._cache:
                    run_end += 1
                data = self._fetch(index * size, min((run_end + 1) * size, self._size))
                blocks = [data[i : i + size] for i in range(0, len(data), size)]
                for offset, block in enumerate(blocks):
                    self._remember(index + offset, block)
            for offset, block in enumerate(blocks):
                block_start = (index + offset) * size
                lo = max(start, block_start) - block_start
                hi = min(end, block_start + len(block)) - block_start
                view[filled : filled + hi - lo] = block[lo:hi]
                filled += hi - lo
            index = run_end + 1
        self._pos = end
        return filled

    def readall(self) -> bytes:
        remaining = max(0, self._size - self._pos)
        buffer = bytearray(remaining)
        got = self.readinto(buffer)
        return bytes(buffer[:got])

    def _remember(self, index: int, block: bytes) -> None:
        self._cache[index] = block
        self._cache.move_to_end(index)
        while len(self._cache) > self._cache_blocks:
            self._cache.popitem(last=False)

    def close(self) -> None:
        self._cache.clear()
        super().close()

    # --- observability ---

    @property
    def size(self) -> int:
        return self._size

    def statistics(self) -> S3ReaderStatistics:
        return S3ReaderStatistics(self._size, self._requests, self._bytes, self._hits)


class S3Source:
    """Objects under ``prefix`` in ``bucket``. The client belongs to the caller (see
    ``open_s3_client``); ``aclose`` does not close it."""

    def __init__(
        self,
        source_id: int,
        client: Any,
        bucket: str,
        prefix: str = "",
        *,
        block_size: int = MIB,
        cache_blocks: int = 4,
        page_size: int = 1000,
    ) -> None:
        self.source_id = source_id
        self.client = client
        self.bucket = bucket
        prefix = prefix.strip("/")
        self.prefix = f"{prefix}/" if prefix else ""
        self._block_size = block_size
        self._cache_blocks = cache_blocks
        self._page_size = page_size
        try:
            self._token: anyio.lowlevel.EventLoopToken | None = anyio.lowlevel.current_token()
        except RuntimeError:  # built outside the event loop: readers need an anyio thread
            self._token = None
        self._listings = 0
        self._entries = 0
        self._skipped = 0
        self._opened = 0

    def describe(self, key: str) -> str:
        """``s3://bucket/prefix/key``. Pure."""
        return f"s3://{self.bucket}/{self.prefix}{key}"

    def local_path(self, key: str) -> None:
        """Objects have no local path. Pure."""
        return None

    def statistics(self) -> SourceStatistics:
        return SourceStatistics(self._listings, self._entries, self._skipped, self._opened)

    async def discover(self) -> AsyncIterator[list[Entry]]:
        """One batch per ListObjectsV2 page (``page_size`` keys), awaited on the event loop.

        Skips "folder" marker keys (ending in ``/``) and hidden names, as the local source
        does. Any failure to list (no bucket, access denied, endpoint down, even on a later
        page) raises ``SourceError``: a partial listing must never look complete.
        """
        paginator = self.client.get_paginator("list_objects_v2")
        where = f"s3://{self.bucket}/{self.prefix}"
        try:
            async for page in paginator.paginate(
                Bucket=self.bucket,
                Prefix=self.prefix,
                PaginationConfig={"PageSize": self._page_size},
            ):
                self._listings += 1
                batch: list[Entry] = []
                for item in page.get("Contents", ()):
                    key = str(item["Key"])[len(self.prefix) :]
                    if not key or key.endswith("/") or _hidden(key):
                        continue
                    batch.append(
                        Entry(
                            key=key,
                            size=int(item["Size"]),
                            mtime_ns=_mtime_ns(item.get("LastModified")),
                            etag=_etag(item.get("ETag")),
                        )
                    )
                self._entries += len(batch)
                if batch:
                    yield batch
        except s3_errors() as exc:
            raise SourceError(f"{where}: cannot list: {error_reason(exc)}") from exc

    async def stat(self, key: str) -> Entry | None:
        """HEAD the object, on the event loop. None when it is gone; SourceError when the
        bucket is gone or the request fails (a HEAD cannot tell "no key" from "no bucket",
        so a miss is confirmed with a HEAD of the bucket)."""
        try:
            head = await self.client.head_object(Bucket=self.bucket, Key=self.prefix + key)
        except s3_errors() as exc:
            if error_code(exc) not in _MISSING:
                raise SourceError(f"{self.describe(key)}: {error_reason(exc)}") from exc
            try:
                await self.client.head_bucket(Bucket=self.bucket)
            except s3_errors() as bucket_exc:
                missing = error_code(bucket_exc) in _MISSING
                reason = "no such bucket" if missing else error_reason(bucket_exc)
                raise SourceError(f"s3://{self.bucket}: {reason}") from bucket_exc
            return None
        return Entry(
            key=key,
            size=int(head["ContentLength"]),
            mtime_ns=_mtime_ns(head.get("LastModified")),
            etag=_etag(head.get("ETag")),
        )

    def open_reader(self, key: str, size: int | None = None) -> S3RangeReader:
        """Like ``open``, typed as the reader (for its ``statistics()``). Blocking: a worker
        thread; without ``size`` it makes a HEAD request."""
        reader = S3RangeReader(
            self.client,
            self.bucket,
            self.prefix + key,
            size=size,
            block_size=self._block_size,
            cache_blocks=self._cache_blocks,
            token=self._token,
            location=self.describe(key),
        )
        self._opened += 1
        return reader

    def open(self, key: str, size: int | None = None) -> BinaryIO:
        """A seekable reader over the object. Blocking: call in a worker thread; raises
        ``Unreadable`` (missing object, access denied, connection errors)."""
        # RawIOBase has every method PyAV and Pillow use (read, readinto, seek, tell).
        return cast(BinaryIO, self.open_reader(key, size))

    async def presigned_url(self, key: str, *, expires_s: int = 6 * 3600) -> str:
        """A URL any HTTP client can GET the object with (ranges included) until it expires:
        direct play of an S3 item redirects there, so the bytes never pass through Reelbox."""
        url: str = await self.client.generate_presigned_url(
            "get_object",
            Params={"Bucket": self.bucket, "Key": self.prefix + key},
            ExpiresIn=expires_s,
        )
        return url

    async def aclose(self) -> None:
        """Nothing owned: the client is closed by whoever opened it."""
