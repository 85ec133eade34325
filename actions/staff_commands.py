"""Reading a grid worker's terse command: which ticket, and the note that follows the command.

The NLU says *which* command a message is; this module takes it apart (words in
bot/staff_commands.yml): a ticket number or a list index ("2", "第二单") names the ticket, the
command clause in front is dropped, and what remains is the note / reply / reason.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import List, Optional, Sequence

import cn2an
import opencc
import yaml

from actions.context import TICKET_NUMBER

COMMANDS_FILE = Path(__file__).resolve().parent.parent / "bot" / "staff_commands.yml"
_CLAUSE = re.compile(r"[，,。；;：:、！!？?\s]+")
_INDEX = re.compile(r"^第?([0-9]{1,2}|[一二三四五六七八九十]{1,3})(?:单|个|件|号|条)?$")
_TRAILING_INDEX = re.compile(r"第?(?:[0-9]{1,2}|[一二三四五六七八九十]{1,3})(?:单|个|件|号|条)?$")
_LEADING_INDEX = re.compile(r"^第(?:[0-9]{1,2}|[一二三四五六七八九十]{1,3})(?:单|个|件|号|条)?")
MAX_INDEX = 50


@lru_cache(maxsize=1)
def _t2s() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


def to_simplified(text: str) -> str:
    """Commands are matched in Simplified ("已辦結" is "已办结")."""
    return _t2s().convert(text)


@dataclass(frozen=True)
class Words:
    commands: Sequence[str]
    labels: Sequence[str]
    on_spot: Sequence[str]
    fillers: Sequence[str]


@lru_cache(maxsize=1)
def words() -> Words:
    data = yaml.safe_load(COMMANDS_FILE.read_text(encoding="utf-8")) or {}
    return Words(
        commands=tuple(sorted(data.get("command_words") or [], key=len, reverse=True)),
        labels=tuple(sorted(data.get("note_labels") or [], key=len, reverse=True)),
        on_spot=tuple(data.get("on_spot_phrases") or []),
        fillers=tuple(sorted(data.get("filler_words") or [], key=len, reverse=True)),
    )


@dataclass(frozen=True)
class Command:
    number: Optional[str]  # a ticket number written in the message
    index: Optional[int]   # a 1-based position in the last 我的待办 list
    note: Optional[str]    # what follows the command


def list_index(text: str) -> Optional[int]:
    """"2" / "第二单" / "3号" → 2 / 2 / 3; None for anything else."""
    match = _INDEX.match(text.strip())
    if not match:
        return None
    raw = match.group(1)
    try:
        value = int(raw) if raw.isdigit() else int(cn2an.cn2an(raw, "smart"))
    except ValueError:
        return None
    return value if 1 <= value <= MAX_INDEX else None


def _strip_label(text: str) -> str:
    for label in words().labels:
        if text.startswith(label):
            return text[len(label):].lstrip("是为：:，, ")
    return text


def is_command_clause(clause: str) -> bool:
    """True when a clause is only a command: "办结", "这单处理完了", "申请上报"."""
    vocabulary = words()
    if not any(w in clause for w in vocabulary.commands):
        return False
    rest = clause
    for word in (*vocabulary.commands, *vocabulary.fillers):
        rest = rest.replace(word, "")
    return len(rest) <= 1


def _command_part(head: str) -> "tuple[bool, Optional[int]]":
    """(is this clause part of the command, the list index it names)."""
    trailing = _TRAILING_INDEX.search(head)
    leading = _LEADING_INDEX.match(head)
    if not head or list_index(head) is not None:
        return True, list_index(head) if head else None
    if trailing and is_command_clause(head[:trailing.start()]):
        return True, list_index(trailing.group(0))  # "接单2"
    if leading and is_command_clause(head[leading.end():]):
        return True, list_index(leading.group(0))  # "第二单接了"
    return is_command_clause(head) or _strip_label(head) == "", None


def parse(text: str) -> Command:
    """Split a command message into ticket number, list index and note. Only a number in the
    command part names the ticket; one in the note stays in the note ("办结 2，与…-000003是同一问题")."""
    rest = to_simplified(text or "").strip()
    number: Optional[str] = None
    index: Optional[int] = None
    while rest:
        parts = _CLAUSE.split(rest, maxsplit=1)
        head, tail = parts[0], (parts[1] if len(parts) > 1 else "")
        numbers = TICKET_NUMBER.findall(head)
        is_command, named_index = _command_part(TICKET_NUMBER.sub("", head).strip())
        if not is_command:
            break
        number = number or (numbers[0] if numbers else None)
        index = index or named_index
        rest = tail.strip()
    note = _strip_label(rest).strip(" ，,。；;：:") if rest else ""
    return Command(number, index, note if len(note) >= 2 else None)


def looks_like_command(text: str) -> bool:
    """"办结 3 已清运", "接单20261123-000012" — worded as a command (a command clause first, or a
    ticket named in the command part), not a note that merely mentions work done."""
    command = parse(text)
    if command.number or command.index:
        return True
    head = _CLAUSE.split(to_simplified(text or "").strip(), maxsplit=1)[0]
    return bool(head) and is_command_clause(TICKET_NUMBER.sub("", head))


def on_spot_sentence(text: str) -> Optional[str]:
    """What a patrol report says was done on the spot: from the clause with an on-spot phrase
    to the end ("已劝离，摊贩已离开")."""
    clauses = [c.strip() for c in re.split(r"[，,。；;！!\n]+", to_simplified(text or ""))]
    for i, clause in enumerate(clauses):
        if len(clause) >= 3 and any(p in clause for p in words().on_spot):
            return "，".join(c for c in clauses[i:] if c)
    return None


def pick(numbers: List[str], index: Optional[int]) -> Optional[str]:
    """The ticket at a 1-based list position, if the list has one there."""
    if index is None or not (1 <= index <= len(numbers)):
        return None
    return numbers[index - 1]
