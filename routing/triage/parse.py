"""Transcripts as they come: plain text with speaker labels, JSON (one object, a list, JSON
Lines), CSV (a transcript per row, or a turn per row grouped by a call id).

Messy input is normal: missing or odd speaker labels (`坐席：`, `市民:`, `A：`, `【客服】`,
`说话人1:`, timestamps before them), several speakers on one line, ASR noise tags, repeated
fillers, Traditional characters, full-width forms, Chinese numerals. The parser keeps every turn
as written and works out who is the caller; the caller's turns are what the NLU classifies
(fillers, Traditional characters and numerals are handled by `bot.nlu.normalise`, which the rasa
pipeline and :func:`normalised_caller_text` both use).

Bytes are decoded as UTF-8 (with or without BOM), UTF-16/32 with a BOM, else GB18030 (a superset
of GBK and GB2312, common in files exported on Chinese Windows), with a warning; binary files and
undecodable text are refused with a reason. A problem in one record of a file (a broken JSON
line, an empty CSV row) is reported for that record and the others are still parsed.
"""
from __future__ import annotations

import csv
import io
import json
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

OPERATOR, CALLER, UNKNOWN = "operator", "caller", "unknown"

# Labels by role (compared after Traditional → Simplified and NFKC). Longer first in the regex.
OPERATOR_LABELS = ("坐席", "坐席员", "话务员", "接线员", "客服", "工作人员", "热线", "接线", "操作员", "受理员",
                   "12345", "agent", "operator", "staff", "assistant")
CALLER_LABELS = ("市民", "来电人", "来电者", "来电", "群众", "居民", "用户", "客户", "投诉人", "反映人", "诉求人",
                 "caller", "customer", "citizen", "user")
GENERIC_LABELS = ("a", "b", "甲", "乙")
_GENERIC_NUMBERED = r"(?:说话人|发言人|角色|speaker|spk)\s*[_-]?\s*\d{1,2}"

_TIMESTAMP = r"(?:[\[(（【]?\s*\d{1,2}:\d{2}(?::\d{2})?(?:[.,]\d{1,3})?\s*[\])）】]?\s*)"


def _label_alternatives() -> str:
    words = sorted({*OPERATOR_LABELS, *CALLER_LABELS}, key=len, reverse=True)
    return "|".join([_GENERIC_NUMBERED, *map(re.escape, words), "[AaBb甲乙]"])


# A speaker label: optional timestamp, optional bracket, the label, optional number, a colon —
# or a bracketed label without a colon (【坐席】您好).
_LABEL_CORE = _label_alternatives()
_LINE_LABEL = re.compile(
    rf"^\s*{_TIMESTAMP}?(?:"
    rf"[\[【(（<]\s*(?P<b>{_LABEL_CORE})\s*\d{{0,2}}\s*[\]】)）>]\s*[:：]?"
    rf"|(?P<l>{_LABEL_CORE})\s*\d{{0,2}}\s*(?:说)?\s*[:：]"
    rf")\s*",
    re.IGNORECASE,
)
# The same labels in the middle of a line ("坐席：您好 市民：我要投诉"), after a blank or a
# sentence end; a colon is required there.
_INLINE_LABEL = re.compile(
    rf"(?:(?<=[\s。！？!?，,；;])|^){_TIMESTAMP}?(?:[\[【(（]\s*)?(?P<l>{_LABEL_CORE})\s*\d{{0,2}}\s*(?:[\]】)）]\s*)?[:：]",
    re.IGNORECASE,
)
_NOISE_TAGS = re.compile(
    r"[<\[【(（]\s*(?:噪音|杂音|听不清|听不清楚|笑声|静音|音乐|咳嗽|哭声|noise|inaudible|laughter|laugh|silence|music|unk|"
    r"um|uh|cough|crosstalk|重叠)\s*[>\]】)）]",
    re.IGNORECASE,
)
_SEPARATOR = re.compile(r"^\s*(?:-{3,}|={3,}|\*{3,}|#{3,})\s*$")
_META_LINE = re.compile(
    r"^\s*(?P<key>来电号码|来电电话|联系电话|电话号码|电话|手机|手机号|号码|通话编号|通话ID|编号|录音编号|来电时间|通话时间|"
    r"姓名|来电人姓名|phone|caller_phone|call_id|id|time|name)\s*[:：]\s*(?P<value>.+?)\s*$",
    re.IGNORECASE,
)
_META_KEYS = {
    "phone": ("来电号码", "来电电话", "联系电话", "电话号码", "电话", "手机", "手机号", "号码", "phone", "caller_phone",
              "mobile", "tel", "caller_number", "ani", "主叫号码"),
    "call_id": ("通话编号", "通话id", "编号", "录音编号", "call_id", "callid", "id", "uuid", "conversation_id",
                "session_id", "session", "record_id"),
    "name": ("姓名", "来电人姓名", "name", "caller_name", "联系人"),
    "time": ("来电时间", "通话时间", "time", "started_at", "start_time", "date", "datetime", "时间"),
    "channel": ("channel", "渠道"),
}
_TEXT_KEYS = ("transcript", "text", "content", "内容", "通话内容", "文本", "记录", "通话记录", "诉求内容", "来电内容",
              "utterance", "body", "message", "asr", "asr_text", "description")
_TURN_LIST_KEYS = ("turns", "dialogue", "dialog", "utterances", "messages", "conversation", "对话", "segments",
                   "sentences", "lines")
_SPEAKER_KEYS = ("speaker", "role", "spk", "说话人", "角色", "from", "who", "speaker_id", "channel_role")
_CONTAINER_KEYS = ("transcripts", "calls", "items", "records", "data", "通话")
# Operator cues for telling which of two unnamed speakers (A/B, 说话人1/2) is the operator.
_OPERATOR_CUES = ("您好", "你好，这里", "12345", "热线", "请问", "有什么可以", "为您服务", "工号", "帮您", "给您",
                  "您反映", "您说的", "我们会", "转交", "登记", "核实", "请您", "稍等", "还有其他", "感谢您的来电",
                  "您的诉求", "受理")
_CALLER_CUES = ("我要投诉", "我想反映", "我要反映", "我家", "我们小区", "我们家", "投诉", "举报", "我想问")

BINARY_MAGIC: Sequence[Tuple[bytes, str]] = (
    (b"\x89PNG", "PNG"), (b"\xff\xd8\xff", "JPEG"), (b"GIF8", "GIF"), (b"%PDF", "PDF"), (b"PK\x03\x04", "ZIP/Office"),
    (b"\x1f\x8b", "gzip"), (b"RIFF", "RIFF/WAV"), (b"ID3", "MP3"), (b"\x7fELF", "ELF"), (b"OggS", "Ogg"),
    (b"fLaC", "FLAC"), (b"\xd0\xcf\x11\xe0", "OLE/Word"), (b"SQLite format 3", "SQLite"),
)
TEXT_SUFFIXES = (".txt", ".text", ".json", ".jsonl", ".ndjson", ".csv", ".tsv", ".log", ".md", "")


class TranscriptError(ValueError):
    """A file or record that cannot be read as a transcript; `reason` is a short code."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass
class Turn:
    speaker: str  # the label as written ("坐席", "A", "说话人1"; "" without a label)
    role: str  # operator | caller | unknown
    text: str

    def as_dict(self) -> Dict[str, str]:
        return {"speaker": self.speaker, "role": self.role, "text": self.text}


@dataclass
class Transcript:
    source: str
    turns: List[Turn]
    raw: str
    meta: Dict[str, str] = field(default_factory=dict)
    warnings: List[str] = field(default_factory=list)

    @property
    def caller_turns(self) -> List[Turn]:
        callers = [t for t in self.turns if t.role == CALLER]
        if not callers:  # nobody was recognised as the caller: everything but the operator
            callers = [t for t in self.turns if t.role != OPERATOR]
        return [t for t in callers if _meaningful(t.text)]

    @property
    def caller_text(self) -> str:
        return join_turns(t.text for t in self.caller_turns)

    def as_dict(self) -> Dict[str, Any]:
        return {"source": self.source, "turns": [t.as_dict() for t in self.turns], "meta": dict(self.meta),
                "warnings": list(self.warnings), "caller_text": self.caller_text}


@dataclass
class RecordError:
    source: str
    reason: str
    message: str


@dataclass
class ParsedFile:
    source: str
    transcripts: List[Transcript] = field(default_factory=list)
    errors: List[RecordError] = field(default_factory=list)
    encoding: Optional[str] = None
    format: Optional[str] = None


# ---------------------------------------------------------------------------------------- text
def _simplify(text: str) -> str:
    try:
        from bot.nlu.normalise import normalise

        return normalise(text).text
    except Exception:  # pragma: no cover - the normaliser's data missing: NFKC is enough for labels
        return unicodedata.normalize("NFKC", text)


def _meaningful(text: str) -> bool:
    """Whether a turn says anything once fillers and punctuation are gone ("嗯嗯。" does not)."""
    clean = _simplify(text)
    return any(ch.isalnum() for ch in clean)


def join_turns(texts: Iterable[str]) -> str:
    out = ""
    for text in texts:
        text = text.strip()
        if not text:
            continue
        if out and not re.search(r"[。！？!?；;，,…\.]$", out):
            out += "。"
        out += text
    return out


def _continue(text: str, more: str) -> str:
    """A turn that went on over a line break: a comma where the line ended without punctuation."""
    if not text:
        return more
    if re.search(r"[。！？!?；;，,…、\.:：]$", text):
        return text + more
    return text + "，" + more


def normalised_caller_text(transcript: Transcript) -> str:
    """The caller's text as the NLU sees it (Traditional → Simplified, fillers, numerals …)."""
    return _simplify(transcript.caller_text)


def clean_turn_text(text: str) -> str:
    text = _NOISE_TAGS.sub("", text)
    text = re.sub(r"[ \t\u3000]+", " ", text)
    return text.strip()


def _label_role(label: str) -> Tuple[str, str]:
    """(role, canonical label) of a label as written."""
    canon = unicodedata.normalize("NFKC", _simplify(label) or label).strip().lower()
    canon = re.sub(r"\s+", "", canon)
    base = re.sub(r"\d+$", "", canon) or canon
    if base in OPERATOR_LABELS or canon in OPERATOR_LABELS:
        return OPERATOR, canon
    if base in CALLER_LABELS:
        return CALLER, canon
    return UNKNOWN, canon  # A/B/甲/乙/说话人N: decided by _assign_generic_roles


def simplified_view(line: str) -> str:
    """The line in Simplified, half-width characters, of the same length: labels are matched on
    it (來電人： is 来电人:) and cut from the original at the same offsets."""
    try:
        from bot.nlu.normalise import _half_width, _to_simplified

        view = _half_width(_to_simplified(line)[0])
        return view if len(view) == len(line) else line
    except Exception:  # pragma: no cover - OpenCC missing: match as written
        return line


def _split_labelled(text: str) -> List[Tuple[Optional[str], str]]:
    """(label or None, text) pieces: a labelled line starts a turn, an unlabelled one continues."""
    pieces: List[Tuple[Optional[str], str]] = []
    for line in text.splitlines():
        if not line.strip():
            continue
        view = simplified_view(line)
        m = _LINE_LABEL.match(view)
        label: Optional[str] = None
        rest, rest_view = line, view
        if m:
            group = "b" if m.group("b") else "l"
            label = line[m.start(group):m.end(group)]
            rest, rest_view = line[m.end():], view[m.end():]
        # more labels inside the line
        inline = [mm for mm in _INLINE_LABEL.finditer(rest_view) if mm.start() > 0 or label is not None]
        if inline:
            pos = 0
            current = label
            for mm in inline:
                before = rest[pos:mm.start()]
                if current is not None or before.strip():
                    pieces.append((current, before))
                current = rest[mm.start("l"):mm.end("l")]
                pos = mm.end()
            pieces.append((current, rest[pos:]))
        elif label is not None:
            pieces.append((label, rest))
        else:
            pieces.append((None, rest))
    return pieces


def _assign_generic_roles(turns: List[Turn]) -> None:
    generic = [t for t in turns if t.role == UNKNOWN and t.speaker]
    if not generic:
        return
    speakers: List[str] = []
    for t in turns:
        if t.speaker and t.role == UNKNOWN and t.speaker not in speakers:
            speakers.append(t.speaker)
    known_roles = {t.role for t in turns if t.role != UNKNOWN}
    if len(speakers) == 1:
        # one unnamed speaker: the opposite of a named one, else the caller (a monologue)
        role = CALLER if OPERATOR in known_roles or CALLER not in known_roles else OPERATOR
        for t in generic:
            t.role = role
        return

    def score(speaker: str) -> int:
        said = " ".join(t.text for t in turns if t.speaker == speaker)
        return sum(said.count(c) for c in _OPERATOR_CUES) * 2 - sum(said.count(c) for c in _CALLER_CUES)

    if OPERATOR in known_roles:
        operator = None
    else:
        ranked = sorted(speakers, key=lambda s: (-score(s), speakers.index(s)))
        operator = ranked[0]
        if score(ranked[0]) == score(ranked[1]):
            operator = speakers[0]  # the hotline answers first
    for t in generic:
        t.role = OPERATOR if t.speaker == operator else CALLER


def _plain_turns(text: str) -> Tuple[List[Turn], bool, Dict[str, str]]:
    """(turns, whether any speaker label was found, header metadata) of a plain text."""
    meta: Dict[str, str] = {}
    body_lines: List[str] = []
    in_header = True
    for line in text.splitlines():
        if in_header:
            m = _META_LINE.match(line)
            if m and not _LINE_LABEL.match(line):
                key = _meta_key(m.group("key"))
                if key:
                    meta.setdefault(key, m.group("value"))
                    continue
            if line.strip():
                in_header = False
        body_lines.append(line)
    pieces = _split_labelled("\n".join(body_lines))
    turns: List[Turn] = []
    labelled = any(label is not None for label, _ in pieces)
    for label, piece in pieces:
        piece = clean_turn_text(piece)
        if label is None:
            if turns and labelled:
                if piece:
                    turns[-1].text = _continue(turns[-1].text, piece)
                continue
            if turns and not labelled:
                turns[-1].text = join_turns([turns[-1].text, piece]) if piece else turns[-1].text
                continue
            turns.append(Turn("", CALLER if not labelled else UNKNOWN, piece))
            continue
        role, _ = _label_role(label)
        turns.append(Turn(label.strip(), role, piece))
    return turns, labelled, meta


def parse_plain(text: str, source: str) -> Transcript:
    """One transcript from plain text with (or without) speaker labels."""
    warnings: List[str] = []
    turns, labelled, meta = _plain_turns(text)
    if not labelled and turns:
        warnings.append("未找到说话人标记，全文按来电人内容处理 / no speaker labels: the whole text is taken as the caller's")
    # an unlabelled opening line in a labelled transcript (a title?) stays `unknown`: it counts as
    # the caller's only when nobody was recognised as the caller
    _assign_generic_roles(turns)
    turns = [t for t in turns if t.text]
    if not turns:
        raise TranscriptError("empty", "没有通话内容 / no transcript text")
    transcript = Transcript(source=source, turns=turns, raw=text.strip(), meta=meta, warnings=warnings)
    if not transcript.caller_text:
        raise TranscriptError("no_caller_text", "没有来电人的有效内容（只有坐席发言或语气词）/ nothing said by the caller")
    return transcript


def _meta_key(key: str) -> Optional[str]:
    k = key.strip().lower()
    for name, keys in _META_KEYS.items():
        if k in keys:
            return name
    return None


def _split_blocks(text: str) -> List[str]:
    """Several transcripts in one text file, separated by a line of --- / === / ***."""
    blocks: List[List[str]] = [[]]
    for line in text.splitlines():
        if _SEPARATOR.match(line):
            blocks.append([])
        else:
            blocks[-1].append(line)
    return ["\n".join(b) for b in blocks if "\n".join(b).strip()]


# ---------------------------------------------------------------------------------------- JSON
def _turns_from_list(items: List[Any], source: str) -> Transcript:
    lines: List[str] = []
    explicit: List[Turn] = []
    for item in items:
        if isinstance(item, str):
            lines.append(item)
            continue
        if isinstance(item, (list, tuple)) and len(item) == 2 and all(isinstance(x, str) for x in item):
            speaker, text = item
        elif isinstance(item, dict):
            low = {str(k).lower(): v for k, v in item.items()}
            role_given = low.get("role") if low.get("role") in (OPERATOR, CALLER) and "speaker" in low else None
            speaker = next((str(low[k]) for k in _SPEAKER_KEYS if low.get(k) not in (None, "")), "")
            text_val = next((low[k] for k in _TEXT_KEYS if isinstance(low.get(k), str)), None)
            if text_val is None:
                raise TranscriptError("bad_turn", f"对话条目缺少文本字段 / a turn without text: {str(item)[:80]}")
            text = text_val
            if role_given:  # {"speaker": "0", "role": "caller"}: the role was decided already
                explicit.append(Turn(speaker.strip(), str(role_given), text))
                continue
        else:
            raise TranscriptError("bad_turn", f"无法识别的对话条目 / unrecognised turn: {str(item)[:80]}")
        explicit.append(Turn(speaker.strip(), UNKNOWN, text))
    if lines and not explicit:
        return parse_plain("\n".join(lines), source)
    turns: List[Turn] = []
    for t in explicit:
        text = clean_turn_text(t.text)
        if not text:
            continue
        if t.role != UNKNOWN:
            turns.append(Turn(t.speaker, t.role, text))
        elif t.speaker:
            role, _ = _label_role(t.speaker)  # unknown for A/B/0/1/spk0: decided below
            turns.append(Turn(t.speaker, role, text))
        else:
            # an unlabelled turn may still carry a label inside its text ("坐席：您好")
            sub, _, _ = _plain_turns(text)
            turns.extend(t for t in sub if t.text)
    if not turns:
        raise TranscriptError("empty", "没有通话内容 / no transcript text")
    _assign_generic_roles(turns)
    raw = "\n".join(f"{t.speaker}：{t.text}" if t.speaker else t.text for t in turns)
    transcript = Transcript(source=source, turns=turns, raw=raw)
    if not transcript.caller_text:
        raise TranscriptError("no_caller_text", "没有来电人的有效内容 / nothing said by the caller")
    return transcript


def _meta_from(obj: Dict[str, Any]) -> Dict[str, str]:
    meta: Dict[str, str] = {}
    for k, v in obj.items():
        key = _meta_key(str(k))
        if key and isinstance(v, (str, int)) and str(v).strip() and key not in meta:
            meta[key] = str(v).strip()
    return meta


def from_json_item(obj: Any, source: str) -> Transcript:
    """One transcript from a decoded JSON value: a string, a list of turns or an object."""
    if isinstance(obj, str):
        if not obj.strip():
            raise TranscriptError("empty", "内容为空 / empty transcript")
        return parse_plain(obj, source)
    if isinstance(obj, list):
        return _turns_from_list(obj, source)
    if not isinstance(obj, dict):
        raise TranscriptError("bad_record", f"无法识别的记录（{type(obj).__name__}）/ unrecognised record")
    low = {str(k).lower(): v for k, v in obj.items()}
    meta = _meta_from(obj)
    transcript: Optional[Transcript] = None
    for key in _TURN_LIST_KEYS:
        if isinstance(low.get(key), list):
            transcript = _turns_from_list(low[key], source)
            break
    if transcript is None:
        for key in _TEXT_KEYS:
            value = low.get(key)
            if isinstance(value, str):
                if not value.strip():
                    raise TranscriptError("empty", f"“{key}”为空 / empty {key}")
                transcript = parse_plain(value, source)
                break
            if isinstance(value, list):
                transcript = _turns_from_list(value, source)
                break
    if transcript is None:
        keys = ", ".join(list(map(str, obj.keys()))[:8]) or "—"
        raise TranscriptError("no_text", f"记录中没有通话文本字段（已有字段：{keys}）/ no transcript field in the record")
    transcript.meta = {**transcript.meta, **meta}
    return transcript


def _json_records(value: Any) -> Optional[List[Any]]:
    if isinstance(value, list):
        return value
    if isinstance(value, dict):
        low = {str(k).lower(): v for k, v in value.items()}
        for key in _CONTAINER_KEYS:
            if isinstance(low.get(key), list) and low[key]:
                if not any(k in low for k in _TURN_LIST_KEYS + _TEXT_KEYS):
                    return low[key]
    return None


def parse_json(text: str, source: str, result: ParsedFile) -> None:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        # JSON Lines?
        lines = [ln for ln in text.splitlines() if ln.strip()]
        if len(lines) > 1 and lines[0].lstrip().startswith("{"):
            result.format = "jsonl"
            for i, line in enumerate(lines, 1):
                item_source = f"{source}#{i}"
                try:
                    result.transcripts.append(from_json_item(json.loads(line), item_source))
                except json.JSONDecodeError as e:
                    result.errors.append(RecordError(item_source, "bad_json",
                                                     f"第 {i} 行 JSON 格式错误：{e.msg}（第 {e.colno} 列）/ broken JSON line"))
                except TranscriptError as e:
                    result.errors.append(RecordError(item_source, e.reason, e.message))
            return
        raise TranscriptError("bad_json", f"JSON 格式错误：第 {exc.lineno} 行第 {exc.colno} 列：{exc.msg} / broken JSON") from None
    records = _json_records(value)
    if records is None:
        result.transcripts.append(from_json_item(value, source))
        return
    if not records:
        raise TranscriptError("empty", "JSON 列表为空 / empty JSON list")
    # a list of turns is one transcript, a list of transcripts is many
    if all(isinstance(r, dict) for r in records) and _looks_like_turns(records):
        result.transcripts.append(from_json_item(records, source))
        return
    for i, record in enumerate(records, 1):
        item_source = f"{source}#{i}"
        try:
            result.transcripts.append(from_json_item(record, item_source))
        except TranscriptError as e:
            result.errors.append(RecordError(item_source, e.reason, e.message))


def _looks_like_turns(records: List[Dict[str, Any]]) -> bool:
    keys = [{str(k).lower() for k in r} for r in records]
    return all(any(k in ks for k in _SPEAKER_KEYS) for ks in keys) and not any(
        any(k in ks for k in _TURN_LIST_KEYS) for ks in keys)


# ---------------------------------------------------------------------------------------- CSV
def _find_column(headers: List[str], names: Sequence[str]) -> Optional[int]:
    low = [h.strip().lower().lstrip("\ufeff") for h in headers]
    for name in names:
        if name in low:
            return low.index(name)
    return None


def parse_csv(text: str, source: str, result: ParsedFile, delimiter: Optional[str] = None) -> None:
    sample = text[:4096]
    if delimiter is None:
        try:
            delimiter = csv.Sniffer().sniff(sample, delimiters=",\t;|").delimiter
        except csv.Error:
            delimiter = ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter, strict=True)
    rows: List[Tuple[int, List[str]]] = []
    broken: Optional[str] = None
    try:
        for row in reader:
            rows.append((reader.line_num, row))
    except csv.Error as exc:
        broken = f"CSV 格式错误（第 {reader.line_num} 行附近）：{exc}；此后的内容未导入 / broken CSV: {exc}"
    rows = [(n, r) for n, r in rows if any(c.strip() for c in r)]
    if not rows:
        raise TranscriptError("bad_csv" if broken else "empty", broken or "CSV 没有内容 / empty CSV")
    headers = rows[0][1]
    text_col = _find_column(headers, _TEXT_KEYS)
    if text_col is None:
        if len(headers) == 1 and not broken:  # a single column without a known header: a text per row
            text_col, data_rows = 0, rows
        else:
            raise TranscriptError(
                "bad_csv", "CSV 缺少文本列（应有 text / transcript / 内容 / 通话内容 之一）/ CSV without a text column"
                + (f"；{broken}" if broken else ""))
    else:
        data_rows = rows[1:]
    speaker_col = _find_column(headers, _SPEAKER_KEYS) if data_rows is not rows else None
    group_col = _find_column(headers, _META_KEYS["call_id"]) if data_rows is not rows else None
    meta_cols = {k: _find_column(headers, v) for k, v in _META_KEYS.items() if k != "call_id"} if data_rows is not rows else {}

    def meta_of(row: List[str]) -> Dict[str, str]:
        out = {}
        for key, col in meta_cols.items():
            if col is not None and col < len(row) and row[col].strip():
                out[key] = row[col].strip()
        if group_col is not None and group_col < len(row) and row[group_col].strip():
            out["call_id"] = row[group_col].strip()
        return out

    if speaker_col is not None:
        result.format = "csv-turns"
        groups: Dict[str, List[Tuple[int, List[str]]]] = {}
        for n, row in data_rows:
            gid = row[group_col].strip() if group_col is not None and group_col < len(row) else "1"
            groups.setdefault(gid or "1", []).append((n, row))
        for gid, items in groups.items():
            item_source = f"{source}#{gid}" if len(groups) > 1 or group_col is not None else source
            turns = []
            for n, row in items:
                if text_col >= len(row):
                    continue
                turns.append({"speaker": row[speaker_col].strip() if speaker_col < len(row) else "",
                              "text": row[text_col]})
            try:
                t = _turns_from_list(turns, item_source)
                t.meta = {**meta_of(items[0][1]), **t.meta}
                result.transcripts.append(t)
            except TranscriptError as e:
                result.errors.append(RecordError(item_source, e.reason, e.message))
    else:
        result.format = "csv"
        for n, row in data_rows:
            item_source = f"{source}#行{n}"
            if text_col >= len(row) or not row[text_col].strip():
                result.errors.append(RecordError(item_source, "empty", f"第 {n} 行内容为空 / empty row {n}"))
                continue
            try:
                t = parse_plain(row[text_col], item_source)
                t.meta = {**t.meta, **meta_of(row)}
                result.transcripts.append(t)
            except TranscriptError as e:
                result.errors.append(RecordError(item_source, e.reason, e.message))
    if broken:
        result.errors.append(RecordError(source, "bad_csv", broken))


# ---------------------------------------------------------------------------------------- bytes
def _control_ratio(text: str) -> float:
    if not text:
        return 0.0
    bad = sum(1 for ch in text if (unicodedata.category(ch) in ("Cc", "Cs", "Co", "Cn")) and ch not in "\t\n\r\f")
    return bad / len(text)


def _cjk_ratio(text: str) -> float:
    chars = [ch for ch in text if not ch.isspace()]
    if not chars:
        return 0.0
    return sum(1 for ch in chars if "\u4e00" <= ch <= "\u9fff" or "\u3400" <= ch <= "\u4dbf") / len(chars)


def _repair_mojibake(text: str) -> Optional[str]:
    """UTF-8 bytes that were once read as Latin-1/CP1252 ("å™ªéŸ³" for "噪音")."""
    if _cjk_ratio(text) > 0.05:
        return None
    latin = sum(1 for ch in text if "\u00c0" <= ch <= "\u00ff")
    if latin < 4 or latin / max(1, len(text)) < 0.1:
        return None
    for codec in ("cp1252", "latin-1"):
        try:
            fixed = text.encode(codec).decode("utf-8")
        except (UnicodeEncodeError, UnicodeDecodeError):
            continue
        if _cjk_ratio(fixed) > 0.2:
            return fixed
    return None


def _decode_fallback(data: bytes, bad_at: int) -> Tuple[str, str, str]:
    """Not UTF-8: GB18030 (GBK, GB2312) when that reads as Chinese, else UTF-16 without a BOM."""
    gb: Optional[str] = None
    try:
        gb = data.decode("gb18030")
    except UnicodeDecodeError:
        pass
    if gb is not None and _cjk_ratio(gb) >= 0.3:
        return gb, "gb18030", "不是 UTF-8，按 GB18030/GBK 解码 / not UTF-8: decoded as GB18030 (GBK)"
    if len(data) % 2 == 0:
        for codec in ("utf-16-le", "utf-16-be"):
            try:
                candidate = data.decode(codec)
            except UnicodeDecodeError:
                continue
            if _control_ratio(candidate) < 0.01 and _cjk_ratio(candidate) >= 0.5:
                return candidate, codec, f"按 {codec.upper()}（无 BOM）解码 / decoded as {codec} without BOM"
    if gb is not None:
        return gb, "gb18030", "不是 UTF-8，按 GB18030/GBK 解码 / not UTF-8: decoded as GB18030 (GBK)"
    raise TranscriptError(
        "bad_encoding",
        f"无法识别的文字编码（不是 UTF-8、UTF-16 或 GB18030/GBK；第 {bad_at} 字节起）"
        f"/ unknown text encoding (not UTF-8, UTF-16 or GB18030)")


def decode_bytes(data: bytes) -> Tuple[str, str, List[str]]:
    """(text, encoding, warnings); :class:`TranscriptError` for empty, binary or undecodable."""
    warnings: List[str] = []
    if not data or not data.strip():
        raise TranscriptError("empty", "文件为空 / empty file")
    for magic, kind in BINARY_MAGIC:
        if data.startswith(magic):
            raise TranscriptError("binary", f"不是文本文件（{kind} 格式）/ not a text file ({kind})")
    boms = ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe\x00\x00", "utf-32"), (b"\x00\x00\xfe\xff", "utf-32"),
            (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16"))
    text: Optional[str] = None
    encoding = ""
    for bom, codec in boms:
        if data.startswith(bom):
            try:
                text, encoding = data.decode(codec), codec
            except UnicodeDecodeError:
                raise TranscriptError("bad_encoding", f"带 {codec} 标记但无法解码 / undecodable {codec}") from None
            break
    if text is None and b"\x00" in data:
        # UTF-16 without a BOM: every other byte NUL
        for codec in ("utf-16-le", "utf-16-be"):
            try:
                candidate = data.decode(codec)
            except UnicodeDecodeError:
                continue
            if _control_ratio(candidate) < 0.01:
                text, encoding = candidate, codec
                warnings.append(f"按 {codec.upper()}（无 BOM）解码 / decoded as {codec} without BOM")
                break
        if text is None:
            raise TranscriptError("binary", "文件含有二进制内容（NUL 字节）/ binary content (NUL bytes)")
    if text is None:
        try:
            text, encoding = data.decode("utf-8"), "utf-8"
        except UnicodeDecodeError as exc:
            text, encoding, warning = _decode_fallback(data, exc.start)
            warnings.append(warning)
    fixed = _repair_mojibake(text)
    if fixed is not None:
        text = fixed
        warnings.append("修复了按 Latin-1 误读的 UTF-8 文本（乱码）/ repaired UTF-8 mis-read as Latin-1")
    if _control_ratio(text) > 0.02:
        raise TranscriptError("binary", "文件含有大量控制字符，不是文本 / binary content (control characters)")
    if encoding == "gb18030" and _cjk_ratio(text) < 0.05 and re.search(r"[^\x00-\x7f]", text):
        raise TranscriptError("bad_encoding", "无法识别的文字编码（按 GB18030 解码后不是中文）/ unknown text encoding")
    return text.replace("\r\n", "\n").replace("\r", "\n"), encoding, warnings


# ---------------------------------------------------------------------------------------- entry points
def detect_format(name: str, text: str) -> str:
    suffix = Path(name).suffix.lower()
    if suffix in (".json", ".jsonl", ".ndjson"):
        return "json"
    if suffix in (".csv", ".tsv"):
        return "csv"
    stripped = text.lstrip()
    if stripped.startswith(("{", "[")):
        try:
            json.loads(stripped)
            return "json"
        except json.JSONDecodeError:
            first = stripped.splitlines()[0] if stripped else ""
            try:
                json.loads(first)
                return "json"  # JSON Lines
            except json.JSONDecodeError:
                pass
    first_line = stripped.splitlines()[0] if stripped else ""
    cells = [c.strip().lower().lstrip("\ufeff") for c in re.split(r"[,\t]", first_line)]
    if len(cells) > 1 and any(c in _TEXT_KEYS for c in cells):
        return "csv"
    return "text"


def parse_document(text: str, source: str, name: Optional[str] = None) -> ParsedFile:
    """Every transcript in a decoded document; record problems are collected, file problems raised."""
    result = ParsedFile(source=source)
    if not text.strip():
        raise TranscriptError("empty", "文件为空 / empty file")
    fmt = detect_format(name or source, text)
    result.format = fmt
    if fmt == "json":
        parse_json(text, source, result)
    elif fmt == "csv":
        parse_csv(text, source, result, "\t" if (name or source).lower().endswith(".tsv") else None)
    else:
        blocks = _split_blocks(text)
        for i, block in enumerate(blocks, 1):
            item_source = source if len(blocks) == 1 else f"{source}#{i}"
            try:
                result.transcripts.append(parse_plain(block, item_source))
            except TranscriptError as e:
                result.errors.append(RecordError(item_source, e.reason, e.message))
    return result


def parse_bytes(data: bytes, source: str, name: Optional[str] = None) -> ParsedFile:
    text, encoding, warnings = decode_bytes(data)
    result = parse_document(text, source, name)
    result.encoding = encoding
    for t in result.transcripts:
        t.warnings = warnings + t.warnings
    return result


def parse_file(path: Path, max_bytes: int = 20_000_000) -> ParsedFile:
    size = path.stat().st_size
    if size > max_bytes:
        raise TranscriptError("too_large", f"文件过大（{size} 字节，上限 {max_bytes}）/ file too large")
    return parse_bytes(path.read_bytes(), path.name, path.name)


def transcript_from_payload(payload: Dict[str, Any], source: str = "api") -> Transcript:
    """One transcript from an API body: {"transcript": text} | {"text": text} | {"turns": [...]}."""
    return from_json_item(payload, source)
