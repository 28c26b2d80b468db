"""A read-only Azure Blob endpoint over directories (generated exports and ``--data`` files).

URLs are Azurite-style with a ``/blob`` prefix: ``{azure_url}/blob/{account}/{container}/{name}``.
Supported: List Blobs (``?restype=container&comp=list`` with prefix, marker, maxresults; XML
EnumerationResults) and Get Blob / HEAD with ``Range: bytes=a-b`` (206). Storage auth is not
emulated (SAS query parameters and Authorization headers are ignored). ``get_blob`` can serve
a blob followed by extra bytes (the ``extra-row`` fault), as if they were part of it.
"""
from __future__ import annotations

import base64
import email.utils
import hashlib
import mimetypes
import re
from pathlib import Path
from typing import Iterator
from xml.sax.saxutils import escape

from sandbox.httpkit import Request, Response


class BlobStore:
    def __init__(self, account: str) -> None:
        self.account = account
        self.containers: dict[str, Path] = {}

    def mount(self, container: str, directory: Path) -> None:
        self.containers[container] = directory

    def _names(self, container: str, prefix: str) -> list[str]:
        root = self.containers[container]
        return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file() and p.relative_to(root).as_posix().startswith(prefix))

    def list_blobs(self, req: Request, container: str) -> Response:
        if container not in self.containers:
            return _error(404, "ContainerNotFound", "The specified container does not exist.")
        if req.arg("restype") != "container" or req.arg("comp") != "list":
            return _error(400, "InvalidQueryParameterValue", "expected ?restype=container&comp=list for a container URL")
        prefix, marker = req.arg("prefix", "") or "", req.arg("marker", "") or ""
        size = max(1, min(int(req.arg("maxresults", "5000") or 5000), 5000))
        after = base64.urlsafe_b64decode(marker.encode()).decode() if marker else ""
        names = [n for n in self._names(container, prefix) if n > after]
        page, rest = names[:size], names[size:]
        items = "".join(self._blob_xml(container, n) for n in page)
        next_marker = base64.urlsafe_b64encode(page[-1].encode()).decode() if rest else ""
        xml = (f'<?xml version="1.0" encoding="utf-8"?><EnumerationResults ServiceEndpoint="{escape(req.base_url)}/blob/{self.account}/" '
               f'ContainerName="{escape(container)}"><Prefix>{escape(prefix)}</Prefix><Marker>{escape(marker)}</Marker>'
               f"<MaxResults>{size}</MaxResults><Blobs>{items}</Blobs><NextMarker>{next_marker}</NextMarker></EnumerationResults>")
        return Response(200, xml.encode(), content_type="application/xml")

    def _blob_xml(self, container: str, name: str) -> str:
        path = self.containers[container] / name
        st = path.stat()
        return (f"<Blob><Name>{escape(name)}</Name><Properties><Last-Modified>{email.utils.formatdate(st.st_mtime, usegmt=True)}"
                f"</Last-Modified><Etag>{_etag(path)}</Etag><Content-Length>{st.st_size}</Content-Length>"
                f"<Content-Type>{_content_type(name)}</Content-Type><BlobType>BlockBlob</BlobType></Properties></Blob>")

    def get_blob(self, req: Request, container: str, name: str, suffix: bytes = b"") -> Response:
        """The blob (followed by ``suffix``), whole or the requested byte range."""
        root = self.containers.get(container)
        path = (root / name).resolve() if root else None
        if root is None or path is None or not path.is_file() or root.resolve() not in path.parents:
            return _error(404, "BlobNotFound", "The specified blob does not exist.")
        size = path.stat().st_size + len(suffix)
        headers = {"ETag": _etag(path, suffix), "Last-Modified": email.utils.formatdate(path.stat().st_mtime, usegmt=True),
                   "x-ms-blob-type": "BlockBlob", "Accept-Ranges": "bytes", "x-ms-version": "2023-11-03"}
        start, end, status = 0, size - 1, 200
        m = re.match(r"bytes=(\d+)-(\d*)$", req.headers.get("Range") or req.headers.get("x-ms-range") or "")
        if m:
            start = int(m.group(1))
            end = min(int(m.group(2)) if m.group(2) else size - 1, size - 1)
            if start >= size:
                return _error(416, "InvalidRange", "The range specified is invalid for the current size of the resource.")
            status = 206
            headers["Content-Range"] = f"bytes {start}-{end}/{size}"
        return Response(status, _read(path, start, end + 1, suffix), headers, length=end + 1 - start, content_type=_content_type(name))


def _read(path: Path, start: int, stop: int, suffix: bytes = b"") -> Iterator[bytes]:
    """Bytes [start, stop) of the file followed by ``suffix``."""
    file_size = path.stat().st_size
    with open(path, "rb") as fh:
        fh.seek(start)
        left = min(stop, file_size) - start
        while left > 0:
            chunk = fh.read(min(65536, left))
            if not chunk:
                return
            left -= len(chunk)
            yield chunk
    if stop > file_size and suffix:
        yield suffix[max(0, start - file_size):stop - file_size]


def _etag(path: Path, suffix: bytes = b"") -> str:
    st = path.stat()
    text = f"{path}:{st.st_size}:{st.st_mtime_ns}" + (f":{hashlib.md5(suffix).hexdigest()}" if suffix else "")
    return '"0x' + hashlib.md5(text.encode()).hexdigest()[:15].upper() + '"'


def _content_type(name: str) -> str:
    return "text/csv" if name.endswith(".csv") else mimetypes.guess_type(name)[0] or "application/octet-stream"


def _error(status: int, code: str, message: str) -> Response:
    xml = f'<?xml version="1.0" encoding="utf-8"?><Error><Code>{code}</Code><Message>{escape(message)}</Message></Error>'
    return Response(status, xml.encode(), {"x-ms-error-code": code}, content_type="application/xml")
