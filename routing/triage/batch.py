"""Batch import of transcript files: `python -m routing.cli import-transcripts PATH…`.

Files and folders (walked recursively, hidden files skipped) are read one by one; every
transcript in them becomes a draft awaiting review. Progress goes to stderr, one line per
transcript; the summary (per type, low confidence, duplicates, failures with reasons) to stdout,
or as JSON with --json. A bad file or record is reported and the import goes on; only an
unreachable NLU server or backend, or a refused token, stops it (everything after would fail the
same way).

Two ways to reach the backend:
  direct   (default) the database in DATABASE_URL, the NLU at RASA_URL, as the CLI's other commands
  --server [URL] --token TOKEN   a running backend's `POST /api/triage` (it calls the NLU
           itself); a bare --server means ROUTING_URL (default http://127.0.0.1:8000), the token
           may come from ROUTING_TOKEN
"""
from __future__ import annotations

import json
import os
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterable, Iterator, List, Optional, TextIO

import httpx

from routing.auth import Actor
from routing.catalog import load_catalog
from routing.triage.nlu import NLUClient, NLUError, NLUUnavailable
from routing.triage.parse import Transcript, TranscriptError, parse_file

EXIT_OK, EXIT_FAILURES, EXIT_ABORTED = 0, 1, 2


class Abort(RuntimeError):
    """Stop the whole import: the NLU or the backend is unreachable, or the token is refused."""


@dataclass
class Outcome:
    source: str
    ok: bool
    number: Optional[str] = None
    event_type: Optional[str] = None
    suggested_type: Optional[str] = None
    confidence: Optional[float] = None
    low_confidence: bool = False
    duplicate_of: Optional[str] = None
    reason: Optional[str] = None
    message: Optional[str] = None
    warnings: List[str] = field(default_factory=list)

    def as_dict(self) -> Dict[str, Any]:
        return {k: v for k, v in self.__dict__.items()}


@dataclass
class Summary:
    files: int = 0
    transcripts: int = 0
    outcomes: List[Outcome] = field(default_factory=list)
    aborted: Optional[str] = None
    not_processed: int = 0

    @property
    def created(self) -> List[Outcome]:
        return [o for o in self.outcomes if o.ok]

    @property
    def failures(self) -> List[Outcome]:
        return [o for o in self.outcomes if not o.ok]

    def by_type(self) -> Dict[str, int]:
        return dict(Counter(o.event_type or "unclassified" for o in self.created).most_common())

    def exit_code(self) -> int:
        if self.aborted:
            return EXIT_ABORTED
        return EXIT_FAILURES if self.failures else EXIT_OK

    def as_dict(self) -> Dict[str, Any]:
        return {
            "files": self.files, "transcripts": self.transcripts, "created": len(self.created),
            "failed": len(self.failures), "not_processed": self.not_processed, "aborted": self.aborted,
            "by_type": self.by_type(),
            "low_confidence": [o.as_dict() for o in self.created if o.low_confidence],
            "duplicates": [o.as_dict() for o in self.created if o.duplicate_of],
            "failures": [{"source": o.source, "reason": o.reason, "message": o.message} for o in self.failures],
            "drafts": [o.as_dict() for o in self.created],
        }

    def render(self) -> str:
        catalog = load_catalog()

        def type_name(code: Optional[str]) -> str:
            if not code or code == "unclassified":
                return "（未分类 unclassified）"
            et = catalog.get(code)
            return f"{code} {et.name}" if et else code

        lines = [
            f"导入结束 / import finished: {self.files} 个文件，{self.transcripts} 份通话记录 → "
            f"{len(self.created)} 个待审核草稿，{len(self.failures)} 个失败"
            + (f"，{self.not_processed} 个未处理" if self.not_processed else ""),
        ]
        if self.aborted:
            lines.append(f"已中止 / aborted: {self.aborted}")
        if self.created:
            lines.append("按事件类型 / by type:")
            for code, n in self.by_type().items():
                lines.append(f"  {n:4d}  {type_name(code)}")
        low = [o for o in self.created if o.low_confidence]
        lines.append(f"低置信度 / low confidence: {len(low)}")
        for o in low:
            conf = f"{o.confidence:.2f}" if o.confidence is not None else "—"
            lines.append(f"  {o.number}  {o.source}  建议 {type_name(o.suggested_type)}  置信度 {conf}")
        dups = [o for o in self.created if o.duplicate_of]
        lines.append(f"疑似重复 / possible duplicates: {len(dups)}")
        for o in dups:
            lines.append(f"  {o.number}  {o.source}  → 与 {o.duplicate_of} 重复")
        lines.append(f"失败 / failures: {len(self.failures)}")
        for o in self.failures:
            lines.append(f"  {o.source}  [{o.reason}] {o.message}")
        return "\n".join(lines)


def iter_files(paths: Iterable[str]) -> Iterator[Path]:
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                if child.is_file() and not any(part.startswith(".") for part in child.relative_to(path).parts):
                    yield child
        else:
            yield path


class DirectSink:
    """Drafts straight into the database (DATABASE_URL), the NLU at RASA_URL."""

    def __init__(self, factory: Any, settings: Any, actor: Actor, nlu: Optional[NLUClient] = None):
        self.factory, self.settings, self.actor = factory, settings, actor
        self.nlu = nlu or NLUClient()

    def __call__(self, transcript: Transcript) -> Outcome:
        from routing.errors import ServiceError
        from routing.triage.service import TriageService

        with self.factory() as session:
            service = TriageService(session, self.settings, self.nlu)
            try:
                parse = service.ask(transcript)
            except NLUUnavailable as exc:
                raise Abort(exc.message) from None
            except NLUError as exc:
                return Outcome(transcript.source, False, reason="nlu_error", message=exc.message)
            except TranscriptError as exc:
                return Outcome(transcript.source, False, reason=exc.reason, message=exc.message)
            try:
                result = service.create_draft(self.actor, transcript, parse, source=transcript.source)
                session.commit()
            except ServiceError as exc:
                session.rollback()
                return Outcome(transcript.source, False, reason=exc.code, message=exc.message)
            p = result.prediction
            return Outcome(transcript.source, True, number=result.ticket.number if result.ticket else None,
                           event_type=p.event_type, suggested_type=p.suggested_type, confidence=p.confidence,
                           low_confidence=p.low_confidence, duplicate_of=p.duplicate_of, warnings=result.warnings)


class HttpSink:
    """Drafts through a running backend's `POST /api/triage`."""

    def __init__(self, base_url: str, token: str, timeout: float = 60.0):
        self.client = httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout,
                                   headers={"Authorization": f"Bearer {token}"})
        self.base_url = base_url

    def __call__(self, transcript: Transcript) -> Outcome:
        body: Dict[str, Any] = {"turns": [t.as_dict() for t in transcript.turns], "source": transcript.source}
        reporter = {k: transcript.meta[k] for k in ("name", "phone") if transcript.meta.get(k)}
        if reporter:
            body["reporter"] = {k: v[:100] if k == "name" else v[:32] for k, v in reporter.items()}
        try:
            response = self.client.post("/api/triage", json=body)
        except httpx.HTTPError as exc:
            raise Abort(f"无法连接后台 {self.base_url}：{type(exc).__name__} / backend unreachable") from None
        try:
            data = response.json()
        except ValueError:
            data = {}
        if response.status_code in (401, 403):
            raise Abort(f"令牌被拒绝（HTTP {response.status_code}）：{data.get('message', '')} / token refused")
        if response.status_code == 503 and data.get("error") == "nlu_unavailable":
            raise Abort(data.get("message") or "NLU 服务不可用 / NLU unavailable")
        if response.status_code != 201:
            return Outcome(transcript.source, False, reason=str(data.get("error") or response.status_code),
                           message=str(data.get("message") or response.text[:200]))
        p = data.get("prediction") or {}
        ticket = data.get("ticket") or {}
        return Outcome(transcript.source, True, number=ticket.get("number"), event_type=p.get("event_type"),
                       suggested_type=p.get("suggested_type"), confidence=p.get("confidence"),
                       low_confidence=bool(p.get("low_confidence")), duplicate_of=p.get("duplicate_of"),
                       warnings=list(data.get("warnings") or []))

    def close(self) -> None:
        self.client.close()


def run_import(paths: Iterable[str], sink: Any, progress: Optional[TextIO] = None) -> Summary:
    progress = progress or sys.stderr
    summary = Summary()
    parsed: List[Any] = []
    for path in iter_files(paths):
        summary.files += 1
        if not path.exists():
            summary.outcomes.append(Outcome(str(path), False, reason="not_found", message="文件不存在 / no such file"))
            continue
        try:
            result = parse_file(path)
        except TranscriptError as exc:
            summary.outcomes.append(Outcome(str(path), False, reason=exc.reason, message=exc.message))
            print(f"  ✗ {path}: {exc.message}", file=progress, flush=True)
            continue
        except OSError as exc:
            summary.outcomes.append(Outcome(str(path), False, reason="unreadable", message=f"无法读取 / unreadable: {exc}"))
            continue
        for err in result.errors:
            summary.outcomes.append(Outcome(_qualify(path, err.source), False, reason=err.reason, message=err.message))
            print(f"  ✗ {_qualify(path, err.source)}: {err.message}", file=progress, flush=True)
        for t in result.transcripts:
            t.source = _qualify(path, t.source)
            parsed.append(t)
    summary.transcripts = len(parsed) + sum(1 for o in summary.outcomes if not o.ok and "#" in o.source)
    total = len(parsed)
    for i, transcript in enumerate(parsed, 1):
        try:
            outcome = sink(transcript)
        except Abort as exc:
            summary.aborted = str(exc)
            summary.not_processed = total - i + 1
            print(f"[{i}/{total}] 中止 / aborted: {exc}", file=progress, flush=True)
            break
        outcome.warnings = transcript.warnings + [w for w in outcome.warnings if w not in transcript.warnings]
        summary.outcomes.append(outcome)
        if outcome.ok:
            conf = f"{outcome.confidence:.2f}" if outcome.confidence is not None else "—"
            flags = "".join([" 低置信度" if outcome.low_confidence else "",
                             f" 疑似重复 {outcome.duplicate_of}" if outcome.duplicate_of else ""])
            print(f"[{i}/{total}] {transcript.source} → {outcome.number} "
                  f"{outcome.event_type or outcome.suggested_type or '未分类'} {conf}{flags}", file=progress, flush=True)
        else:
            print(f"[{i}/{total}] {transcript.source} ✗ {outcome.message}", file=progress, flush=True)
    return summary


def _qualify(path: Path, source: str) -> str:
    """calls.json#3 → dir/calls.json#3 (the path as given on the command line)."""
    if source == path.name:
        return str(path)
    if source.startswith(path.name + "#"):
        return str(path) + source[len(path.name):]
    return source


def sink_from_args(server: Optional[str], token: Optional[str], settings: Any) -> Any:
    """`server` None: direct; "" (bare --server): ROUTING_URL or http://127.0.0.1:8000; else the URL."""
    if server is not None:
        url = server or os.environ.get("ROUTING_URL") or "http://127.0.0.1:8000"
        token = token or os.environ.get("ROUTING_TOKEN")
        if not token:
            raise Abort("使用 --server 时需要 --token 或 ROUTING_TOKEN / --server needs --token or ROUTING_TOKEN")
        return HttpSink(url, token)
    from routing.db import make_engine, make_session_factory

    factory = make_session_factory(make_engine(settings.database_url))
    user = os.environ.get("USER") or "cli"
    return DirectSink(factory, settings, Actor(name=f"import-transcripts:{user}", role="operator"))


def main(paths: List[str], server: Optional[str], token: Optional[str], settings: Any, as_json: bool,
         out: Optional[TextIO] = None) -> int:
    out = out or sys.stdout
    try:
        sink = sink_from_args(server, token, settings)
    except Abort as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ABORTED
    if not paths:
        print("error: 请给出文件或文件夹 / give files or folders", file=sys.stderr)
        return EXIT_ABORTED
    try:
        summary = run_import(paths, sink)
    finally:
        if isinstance(sink, HttpSink):
            sink.close()
    if as_json:
        print(json.dumps(summary.as_dict(), ensure_ascii=False, indent=1), file=out)
    else:
        print(summary.render(), file=out)
    return summary.exit_code()
