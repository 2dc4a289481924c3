"""Where the Parquet store's files live: a local (or mounted) folder, or a bucket and prefix
of an S3-compatible object store (`s3://bucket/prefix`).

Both go through a pyarrow file system (`LocalFileSystem`, `S3FileSystem`), which writes
and reads the Parquet files; DuckDB reads them through the same file system, handed to it
as an fsspec file system under a protocol of its own (`zhians3://`), since DuckDB's own S3
reader (the httpfs extension) is a download this node may not be able to make.

What differs between the two is durability and atomicity: a local file is fsynced and the
manifest is replaced by a rename (then the folder fsynced); an object store stores an
object whole or not at all once its upload returns, so the manifest is replaced by one
upload. A bucket has no folders to tidy and no lock: the writer's lock is a local file.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit

import duckdb
import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

S3_SCHEME: Final = "s3://"
# DuckDB reads the bucket under this protocol (an fsspec file system registered on the
# connection), never under `s3://`, which DuckDB would hand to its httpfs extension.
DUCKDB_PROTOCOL: Final = "zhians3"


class ParquetLocationError(ValueError):
    """The Parquet store's location cannot be used as given (names the setting)."""


def is_s3_url(location: str) -> bool:
    return location.startswith(S3_SCHEME)


class ParquetFolder:
    """The store's files under one root, by paths relative to it (`table/day=…/part.parquet`)."""

    def __init__(self, filesystem: pafs.FileSystem, root: str, *, local: bool, shown: str) -> None:
        self.filesystem = filesystem
        self.root = root.rstrip("/")
        self.is_local = local
        # How messages name the store: the folder, or the URL (never a key).
        self.shown = shown
        self._registered: set[int] = set()

    @classmethod
    def local(cls, root: Path) -> ParquetFolder:
        root.mkdir(parents=True, exist_ok=True)
        absolute = root.resolve()
        return cls(pafs.LocalFileSystem(), str(absolute), local=True, shown=str(root))

    @classmethod
    def s3(
        cls,
        url: str,
        *,
        endpoint_url: str = "",
        region: str = "",
        access_key_id: str = "",
        secret_access_key: str = "",
    ) -> ParquetFolder:
        """`s3://bucket/prefix` on the endpoint given (empty: AWS's). Keys as given, else
        pyarrow's default chain (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, profiles)."""
        parts = urlsplit(url)
        if parts.scheme != "s3" or not parts.netloc:
            raise ParquetLocationError(
                f"store.parquet_path: {url!r} is not an s3://bucket/prefix URL"
            )
        if parts.query or parts.fragment:
            raise ParquetLocationError(
                "store.parquet_path: an s3:// URL carries no query or fragment (the endpoint "
                "and keys are settings of their own: store.s3_endpoint_url, store.s3_*)"
            )
        options: dict[str, Any] = {}
        if endpoint_url:
            endpoint = urlsplit(endpoint_url)
            if endpoint.scheme not in ("http", "https") or not endpoint.netloc:
                raise ParquetLocationError(
                    f"store.s3_endpoint_url: {endpoint_url!r} is not an http(s)://host[:port] URL"
                )
            options["endpoint_override"] = endpoint.netloc
            options["scheme"] = endpoint.scheme
        if region:
            options["region"] = region
        if access_key_id or secret_access_key:
            if not (access_key_id and secret_access_key):
                raise ParquetLocationError(
                    "store.s3_access_key_id and store.s3_secret_access_key go together "
                    "(or neither: the AWS_* environment)"
                )
            options["access_key"] = access_key_id
            options["secret_key"] = secret_access_key
        filesystem = pafs.S3FileSystem(**options)
        root = f"{parts.netloc}/{parts.path.strip('/')}".rstrip("/")
        return cls(filesystem, root, local=False, shown=f"s3://{root}")

    # --- paths ------------------------------------------------------------------------------

    def full(self, relative: str) -> str:
        return f"{self.root}/{relative}"

    def query_path(self, relative: str) -> str:
        """The path DuckDB reads `relative` by (after `attach`)."""
        if self.is_local:
            return self.full(relative)
        return f"{DUCKDB_PROTOCOL}://{self.full(relative)}"

    def attach(self, connection: duckdb.DuckDBPyConnection) -> None:
        """Let `connection` (and its cursors) read the files by `query_path`."""
        if self.is_local or id(connection) in self._registered:
            return
        connection.register_filesystem(_fsspec_view(self.filesystem))
        self._registered.add(id(connection))

    # --- files ------------------------------------------------------------------------------

    def read_text(self, relative: str) -> str | None:
        """A small file's text, or None when there is none."""
        path = self.full(relative)
        if self.filesystem.get_file_info(path).type != pafs.FileType.File:
            return None
        with self.filesystem.open_input_stream(path) as stream:
            data: bytes = stream.read()
        return data.decode("utf-8")

    def replace_text(self, relative: str, text: str) -> None:
        """Replace a small file atomically and durably (the manifest)."""
        if self.is_local:
            target = Path(self.full(relative))
            fresh = target.with_name(target.name + ".tmp")
            with fresh.open("w", encoding="utf-8") as out:
                out.write(text)
                out.flush()
                os.fsync(out.fileno())
            fresh.replace(target)
            fsync_dir(target.parent)
            return
        # One upload: the object store keeps the old object or the new one, never a part.
        with self.filesystem.open_output_stream(self.full(relative)) as out:
            out.write(text.encode("utf-8"))

    def write_table(self, relative: str, rows: pa.Table, **options: Any) -> None:
        """Write a Parquet file, durable when this returns."""
        path = self.full(relative)
        if self.is_local:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            pq.write_table(rows, path, **options)
            with Path(path).open("rb") as written:
                os.fsync(written.fileno())
            fsync_dir(Path(path).parent)
            return
        pq.write_table(rows, path, filesystem=self.filesystem, **options)

    def read_table(self, relative: str) -> pa.Table:
        return pq.read_table(self.full(relative), filesystem=self.filesystem, partitioning=None)

    def size(self, relative: str) -> int:
        info = self.filesystem.get_file_info(self.full(relative))
        return int(info.size or 0)

    def files(self, suffix: str) -> list[str]:
        """Every file under the root whose name ends with `suffix` (relative paths)."""
        selector = pafs.FileSelector(self.root, recursive=True, allow_not_found=True)
        prefix = self.root + "/"
        return sorted(
            info.path.removeprefix(prefix)
            for info in self.filesystem.get_file_info(selector)
            if info.type == pafs.FileType.File and info.path.endswith(suffix)
        )

    def delete(self, relative: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.filesystem.delete_file(self.full(relative))

    def remove_empty_folders(self, tables: list[str]) -> None:
        """Day folders left empty (a local folder; a bucket has none)."""
        if not self.is_local:
            return
        for table in tables:
            folder = Path(self.full(table))
            if not folder.is_dir():
                continue
            for day in folder.iterdir():
                if day.is_dir() and not any(day.iterdir()):
                    day.rmdir()

    def exists(self, relative: str) -> bool:
        found: bool = self.filesystem.get_file_info(self.full(relative)).type == pafs.FileType.File
        return found


def fsync_dir(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _fsspec_view(filesystem: pafs.FileSystem) -> Any:
    """The pyarrow file system as an fsspec one under `DUCKDB_PROTOCOL` (what DuckDB's
    `register_filesystem` takes)."""
    try:
        from fsspec.implementations.arrow import ArrowFSWrapper
    except ImportError as exc:  # pragma: no cover - fsspec is a dependency
        raise ParquetLocationError(
            "store.parquet_path: an s3:// store needs fsspec (pip install fsspec)"
        ) from exc

    class _ZhianS3(ArrowFSWrapper):  # type: ignore[misc]
        protocol = DUCKDB_PROTOCOL
        root_marker = ""

        @classmethod
        def _strip_protocol(cls, path: Any) -> Any:
            if isinstance(path, str):
                return path.removeprefix(f"{DUCKDB_PROTOCOL}://")
            return path

    return _ZhianS3(filesystem)
