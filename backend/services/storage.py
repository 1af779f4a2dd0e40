"""Where citizens' files live: a local directory by default, an S3-compatible store in production.

Keys are relative paths (``attachments/ab/abcd...``, ``webchat/<id>``); rows keep the key, never
a host's path, so any worker reads what another wrote.
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import AsyncExitStack
from pathlib import Path, PurePosixPath
from typing import Any, Protocol

from backend.services.files import write_private
from backend.settings import StorageSettings

log = logging.getLogger(__name__)


class FileStore(Protocol):
    """The files personal data lives in, by key."""

    async def put(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> None: ...

    async def get(self, key: str) -> bytes | None: ...

    async def delete(self, key: str) -> None: ...

    async def exists(self, key: str) -> bool: ...

    async def close(self) -> None: ...


def check_key(key: str) -> str:
    """A relative key without ``..``: no row, whatever it says, reaches outside the store."""
    p = PurePosixPath(key)
    if not key or p.is_absolute() or "\\" in key or any(part in ("..", ".") for part in key.split("/")) \
            or "" in key.split("/"):
        raise ValueError("invalid file key")
    return str(p)


class LocalFileStore:
    """Owner-only files under ``root``; an absolute path under ``root`` (older rows) is its relative key."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path(self, key: str) -> Path:
        if Path(key).is_absolute():  # rows written before keys: a path under the files dir
            p = Path(key).resolve()
            root = self.root.resolve()
            if not p.is_relative_to(root):
                raise ValueError("file path outside the files directory")
            key = p.relative_to(root).as_posix()
        return self.root / check_key(key)

    async def put(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> None:
        await asyncio.to_thread(write_private, self.path(key), data, self.root)

    async def get(self, key: str) -> bytes | None:
        path = self.path(key)
        try:
            return await asyncio.to_thread(path.read_bytes)
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            return None

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self.path(key).unlink, missing_ok=True)

    async def exists(self, key: str) -> bool:
        return await asyncio.to_thread(self.path(key).is_file)

    async def close(self) -> None:
        return None


class S3FileStore:
    """Objects in one bucket of an S3-compatible store, through aiobotocore (one client per process)."""

    def __init__(self, *, bucket: str, access_key: str, secret_key: str, region: str = "us-east-1",
                 endpoint: str = "", addressing: str = "auto", prefix: str = "") -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self._options: dict[str, Any] = {
            "region_name": region,
            "aws_access_key_id": access_key,
            "aws_secret_access_key": secret_key,
            "endpoint_url": endpoint or None,
        }
        self._addressing = addressing
        self._client: Any = None
        self._stack: AsyncExitStack | None = None
        self._lock = asyncio.Lock()

    def _key(self, key: str) -> str:
        key = check_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    async def _s3(self) -> Any:
        if self._client is None:
            async with self._lock:
                if self._client is None:
                    from aiobotocore.config import AioConfig
                    from aiobotocore.session import get_session

                    # Checksums only where S3 requires them: many S3-compatible stores reject
                    # botocore's default CRC32 headers (boto/boto3#4392; docs/storage.md).
                    config = AioConfig(s3={"addressing_style": self._addressing},
                                       retries={"max_attempts": 3, "mode": "standard"},
                                       connect_timeout=5, read_timeout=30,
                                       request_checksum_calculation="when_required",
                                       response_checksum_validation="when_required")
                    stack = AsyncExitStack()
                    self._client = await stack.enter_async_context(
                        get_session().create_client("s3", config=config, **self._options))
                    self._stack = stack
        return self._client

    async def put(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> None:
        s3 = await self._s3()
        await s3.put_object(Bucket=self.bucket, Key=self._key(key), Body=data, ContentType=content_type)

    async def get(self, key: str) -> bytes | None:
        s3 = await self._s3()
        try:
            resp = await s3.get_object(Bucket=self.bucket, Key=self._key(key))
        except s3.exceptions.NoSuchKey:
            return None
        async with resp["Body"] as body:
            return await body.read()

    async def delete(self, key: str) -> None:
        s3 = await self._s3()
        await s3.delete_object(Bucket=self.bucket, Key=self._key(key))  # a missing key is no error in S3

    async def exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        s3 = await self._s3()
        try:
            await s3.head_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True

    async def close(self) -> None:
        stack, self._stack, self._client = self._stack, None, None
        if stack is not None:
            await stack.aclose()


def from_settings(storage: StorageSettings, files_dir: Path) -> FileStore:
    """The store the settings name: the files directory, or the S3 bucket."""
    if storage.backend == "s3":
        return S3FileStore(bucket=storage.s3_bucket, access_key=storage.s3_access_key,
                           secret_key=storage.s3_secret_key, region=storage.s3_region,
                           endpoint=storage.s3_endpoint, addressing=storage.s3_addressing)
    return LocalFileStore(files_dir)
