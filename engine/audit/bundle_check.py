"""Checking a case's evidence bundle without the database (``rukun audit check-bundle``):
every member against SHA256SUMS and the manifest, the hash chain of its history, every
document against the sha256 in its name, read in chunks within limits (zip bombs, zip slip).
The bundle's member names are defined here; :mod:`engine.audit.bundle` writes them."""

from __future__ import annotations

import hashlib
import json
import os
import re
import zipfile
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.audit.merkle import leaf_hash, verify_inclusion
from engine.store.chain import HASHED_FIELDS, HASHED_FIELDS_2, verify_chain

HISTORY, VERIFICATION, MANIFEST, SUMS = (
    "history.jsonl",
    "verification.json",
    "manifest.json",
    "SHA256SUMS",
)
#: check_bundle reads at most this much uncompressed data (zip bombs), in chunks.
MAX_BUNDLE_BYTES = 2 * 1024**3
MAX_BUNDLE_MEMBERS = 200_000
MAX_SMALL_MEMBER = 64 * 1024**2
CHUNK = 1024**2
HASH_BREAK = "hash does not match the record's content"
DOCUMENT_MEMBER = re.compile(r"documents/([0-9a-f]{64})-[A-Za-z0-9._-]{1,100}")
#: What reading a corrupt, encrypted or oddly compressed zip member raises.
UNREADABLE = (zipfile.BadZipFile, zlib.error, EOFError, OSError, RuntimeError, ValueError)
SUM_LINE = re.compile(r"([0-9a-f]{64}) [ *](.+)")


@dataclass
class BundleCheck:
    """What :func:`inspect_bundle` found: problems (none: the bundle is intact) and notes
    (what could not be proven from the bundle alone, and its chain head)."""

    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    records: int = 0
    documents: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems


class _TooLarge(Exception):
    """More uncompressed data than a bundle check reads (a zip bomb?)."""


class _Unreadable(Exception):
    """A member that cannot be read (corrupt, encrypted, a line too long)."""


def check_bundle(path: str | os.PathLike[str]) -> list[str]:
    """The problems of an evidence bundle (empty: intact); see :func:`inspect_bundle`."""
    return inspect_bundle(path).problems


def inspect_bundle(path: str | os.PathLike[str], limit: int = MAX_BUNDLE_BYTES) -> BundleCheck:
    """Check an evidence bundle without the database: every member against SHA256SUMS and
    the manifest, the hash chain of history.jsonl (a masked record's links only), every
    document's content against the sha256 in its name, every attached document present.
    Members with absolute paths or ``..`` are refused unread; at most ``limit`` bytes of
    uncompressed data are read, a chunk at a time."""
    check = BundleCheck()
    try:
        archive = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as error:
        check.problems.append(f"{os.fspath(path)} is not a readable zip file: {error}")
        return check
    with archive:
        try:
            _BundleReader(archive, check, limit).run()
        except _TooLarge as error:
            check.problems.append(str(error))
    return check


def _unsafe(name: str) -> bool:
    """An absolute path, a drive, a backslash or a ``..`` part (zip slip)."""
    if name.startswith("/") or "\\" in name or "\x00" in name or re.match(r"[A-Za-z]:", name):
        return True
    return any(part in ("", ".", "..") for part in name.rstrip("/").split("/"))


class _BundleReader:
    def __init__(self, archive: zipfile.ZipFile, check: BundleCheck, limit: int) -> None:
        self.archive, self.check, self.limit, self.budget = archive, check, limit, limit
        self.members: dict[str, zipfile.ZipInfo] = {}
        self.digests: dict[str, tuple[str, int]] = {}

    def problem(self, text: str) -> None:
        self.check.problems.append(text)

    def run(self) -> None:
        if not self._list():
            return
        for name, info in self.members.items():
            try:
                digest, size = hashlib.sha256(), 0
                for chunk in self._read(info):
                    digest.update(chunk)
                    size += len(chunk)
                self.digests[name] = (digest.hexdigest(), size)
            except _Unreadable as error:
                self.problem(str(error))
        self._sums()
        manifest = self._manifest()
        references = self._history(manifest)
        self._documents(manifest, references)
        self._verification()

    def _list(self) -> bool:
        infos = self.archive.infolist()
        if len(infos) > MAX_BUNDLE_MEMBERS:
            self.problem(f"the bundle has {len(infos)} members, more than {MAX_BUNDLE_MEMBERS}")
            return False
        declared = sum(info.file_size for info in infos)
        if declared > self.limit:
            self.problem(
                f"the bundle declares {declared} bytes uncompressed, more than the {self.limit} "
                "a check reads: refused (a zip bomb?)"
            )
            return False
        for info in infos:
            name = info.filename
            if _unsafe(name):
                self.problem(f"member {name!r} has an absolute path or '..' (zip slip): refused")
            elif name in self.members:
                self.problem(f"member {name} appears more than once")
            elif not info.is_dir():
                self.members[name] = info
        return True

    def _read(self, info: zipfile.ZipInfo) -> Iterator[bytes]:
        try:
            with self.archive.open(info) as handle:
                while chunk := handle.read(CHUNK):
                    self.budget -= len(chunk)
                    if self.budget < 0:
                        raise _TooLarge(
                            f"the bundle holds more than {self.limit} bytes uncompressed: "
                            "refused (a zip bomb?)"
                        )
                    yield chunk
        except UNREADABLE as error:
            raise _Unreadable(f"member {info.filename} cannot be read: {error}") from error

    def _small(self, name: str) -> bytes | None:
        info = self.members.get(name)
        if info is None:
            self.problem(f"{name} is missing from the bundle")
            return None
        data = b""
        try:
            for chunk in self._read(info):
                data += chunk
                if len(data) > MAX_SMALL_MEMBER:
                    raise _Unreadable(f"{name} is larger than {MAX_SMALL_MEMBER} bytes")
        except _Unreadable as error:
            self.problem(str(error))
            return None
        return data

    def _json(self, name: str) -> dict[str, Any]:
        data = self._small(name)
        if data is None:
            return {}
        try:
            value = json.loads(data)
        except ValueError:
            value = None
        if not isinstance(value, dict):
            self.problem(f"{name} is not a JSON object")
            return {}
        return value

    def _sums(self) -> None:
        data = self._small(SUMS)
        if data is None:
            return
        listed: dict[str, str] = {}
        for number, line in enumerate(data.decode("utf-8", "replace").splitlines(), 1):
            match = SUM_LINE.fullmatch(line)
            if match is None:
                self.problem(f"{SUMS} line {number} is not '<sha256>  <file>'")
            else:
                listed[match[2]] = match[1]
        for name, sha256 in listed.items():
            self._compare(name, sha256, None, SUMS)
        for name in self.members:
            if name != SUMS and name not in listed:
                self.problem(f"{name} is not listed in {SUMS}")

    def _compare(self, name: str, sha256: Any, size: Any, where: str) -> None:
        if name not in self.members:
            self.problem(f"{where} lists {name}, which is not in the bundle")
            return
        actual = self.digests.get(name)
        if actual is None:
            return  # unreadable, said so
        if actual[0] != sha256:
            self.problem(f"{name}: its sha256 is {actual[0]}, {where} says {sha256}")
        elif size is not None and actual[1] != size:
            self.problem(f"{name}: it is {actual[1]} bytes, {where} says {size}")

    def _manifest(self) -> dict[str, Any]:
        manifest = self._json(MANIFEST)
        files = manifest.get("files", [])
        entries = [f for f in files if isinstance(f, dict)] if isinstance(files, list) else []
        if manifest and (not entries or len(entries) != len(files)):
            self.problem(f"{MANIFEST} has no proper list of files")
        for entry in entries:
            self._compare(str(entry.get("name")), entry.get("sha256"), entry.get("size"), MANIFEST)
        named = {str(entry.get("name")) for entry in entries}
        for name in self.members:
            if name not in (MANIFEST, SUMS) and name not in named:
                self.problem(f"{name} is not listed in {MANIFEST}")
        return manifest

    def _lines(self, info: zipfile.ZipInfo) -> Iterator[bytes]:
        buffer = b""
        for chunk in self._read(info):
            *lines, buffer = (buffer + chunk).split(b"\n")
            yield from lines
            if len(buffer) > MAX_SMALL_MEMBER:
                raise _Unreadable(f"{info.filename} has a line longer than {MAX_SMALL_MEMBER}")
        if buffer:
            yield buffer

    def _anchor(self, manifest: Mapping[str, Any], hashes: Mapping[int, str]) -> None:
        """The anchor proof in the manifest, if any: its leaf is a record of this history,
        and its audit path leads to the anchor's digest (compare that with the published
        one)."""
        anchor = manifest.get("anchor")
        if not anchor:
            return
        try:
            leaf, digest = anchor["leaf"], str(anchor["digest"])
            seq, index, size = int(leaf["seq"]), int(anchor["index"]), int(anchor["size"])
            proof = [str(p) for p in anchor["proof"]]
            node = leaf_hash(int(leaf["case_id"]), seq, str(leaf["hash"]))
        except (KeyError, TypeError, ValueError):
            self.problem(f"{MANIFEST}: the anchor proof is malformed")
            return
        if leaf["case_id"] != manifest.get("case_id") or hashes.get(seq) != leaf["hash"]:
            self.problem(
                f"{MANIFEST}: anchor {digest} covers seq {seq} with hash {leaf['hash']}, which "
                f"is not the record {HISTORY} holds there"
            )
        elif not verify_inclusion(node, index, size, proof, digest):
            self.problem(f"{MANIFEST}: the audit path does not lead to anchor {digest}")
        else:
            self.check.notes.append(
                f"anchored: seq {seq} is covered by anchor {digest} of {anchor.get('at')}; "
                "compare that digest with the published one"
            )

    def _history(self, manifest: Mapping[str, Any]) -> dict[str, tuple[int, str]]:
        """Check the chain; returns every attached document's first (seq, field)."""
        references: dict[str, tuple[int, str]] = {}
        info = self.members.get(HISTORY)
        if info is None:
            self.problem(f"{HISTORY} is missing from the bundle")
            return references
        masked: set[int] = set()
        seen: list[dict[str, Any]] = []  # only the last one is kept
        hashes: dict[int, str] = {}

        def records() -> Iterator[dict[str, Any]]:
            for number, line in enumerate(self._lines(info), 1):
                record = _record(line)
                if isinstance(record, str):
                    self.problem(f"{HISTORY} line {number}: {record}")
                    continue
                if record["case_id"] != manifest.get("case_id"):
                    self.problem(
                        f"{HISTORY} line {number} is of case {record['case_id']}, the bundle "
                        f"of case {manifest.get('case_id')}"
                    )
                if record.get("masked") is True:
                    masked.add(record["seq"])
                for name, sha256 in (record.get("documents") or {}).items():
                    references.setdefault(str(sha256), (record["seq"], str(name)))
                seen[:] = [record]
                hashes[record["seq"]] = str(record.get("hash"))
                self.check.records += 1
                yield record

        try:
            breaks = verify_chain(records())
        except _Unreadable as error:
            self.problem(str(error))
            return references
        for broken in breaks:
            if not (broken.seq in masked and broken.reason == HASH_BREAK):
                self.problem(f"{HISTORY} seq {broken.seq}: {broken.reason}")
        head = {"seq": seen[0]["seq"], "hash": seen[0]["hash"]} if seen else None
        count = self.check.records
        if manifest:
            if manifest.get("records") != count:
                self.problem(
                    f"{HISTORY} holds {count} records, {MANIFEST} says {manifest.get('records')}"
                )
            if manifest.get("chain_head") != head:
                self.problem(
                    f"{HISTORY} ends with {head}, {MANIFEST} names the chain head "
                    f"{manifest.get('chain_head')}"
                )
            self._anchor(manifest, hashes)
            if manifest.get("masked_records", 0) != len(masked):
                self.problem(
                    f"{len(masked)} record(s) of {HISTORY} are marked masked, {MANIFEST} says "
                    f"{manifest.get('masked_records')}"
                )
        if masked:
            self.check.notes.append(
                f"{len(masked)} of {count} record(s) had personal data masked for the bundle's "
                f"maker (seq {', '.join(map(str, sorted(masked)))}): their hashes cannot be "
                "recomputed from the bundle, only their links in the chain were checked"
            )
        if head:
            self.check.notes.append(
                f"chain head: seq {head['seq']} hash {head['hash']} (compare it with the "
                "database or a published anchor)"
            )
        return references

    def _documents(
        self, manifest: Mapping[str, Any], references: Mapping[str, tuple[int, str]]
    ) -> None:
        present: dict[str, str] = {}
        for name in self.members:
            if not name.startswith("documents/"):
                continue
            match = DOCUMENT_MEMBER.fullmatch(name)
            if match is None:
                self.problem(f"{name} is not named documents/<sha256>-<file name>")
                continue
            present[match[1]] = name
            actual = self.digests.get(name)
            if actual is not None and actual[0] != match[1]:
                self.problem(
                    f"{name}: its content's sha256 is {actual[0]}, not the one in its name "
                    "(the document was changed)"
                )
            if match[1] not in references:
                self.problem(f"{name} is attached by no record of {HISTORY}")
        listed = manifest.get("documents", [])
        missing = {
            d.get("sha256")
            for d in (listed if isinstance(listed, list) else [])
            if isinstance(d, dict) and d.get("status") == "missing"
        }
        for sha256, (seq, name) in references.items():
            if sha256 not in present:
                why = ": it was missing from storage when the bundle was made"
                self.problem(
                    f"document {name} of seq {seq} ({sha256[:12]}) is not in the bundle"
                    + (why if sha256 in missing else "")
                )
        self.check.documents = len(present)

    def _verification(self) -> None:
        verification = self._json(VERIFICATION)
        if verification and verification.get("intact") is not True:
            findings = verification.get("findings") or []
            divergences = (verification.get("replay") or {}).get("divergences") or []
            self.problem(
                f"the case did not verify when the bundle was made: {len(findings)} "
                f"finding(s), {len(divergences)} replay divergence(s) (see {VERIFICATION})"
            )


def _record(line: bytes) -> dict[str, Any] | str:
    """A history line as a record, or what is wrong with it (so the chain check cannot
    trip over a malformed one)."""
    try:
        record = json.loads(line, parse_constant=_no_constant)
    except ValueError:
        return "not JSON"
    if not isinstance(record, dict):
        return "not a JSON object"
    rule = record.get("rule")
    needed = (*HASHED_FIELDS, "hash") if rule in (None, 1) else (*HASHED_FIELDS_2, "hash")
    absent = [name for name in needed if name not in record]
    if absent:
        return f"lacks {', '.join(absent)}"
    if not isinstance(record["seq"], int) or not (rule is None or isinstance(rule, int)):
        return "seq and rule must be whole numbers"
    if not isinstance(record["documents"] or {}, dict):
        return "documents must be an object"
    return record


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")
