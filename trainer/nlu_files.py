"""Read and write Rasa YAML NLU files as {intent: [example lines]}.

Examples keep Rasa's inline entity syntax (``[幸福小区](location)``); files are written in the
layout trainers edit by hand: one `- intent:` block with an `examples: |` list.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Dict, Iterable, List, Tuple

import yaml

ENTITY_RE = re.compile(r"\[(?P<text>[^\]]+)\]\((?P<entity>[^)]+)\)")


def read_examples(path: Path) -> Dict[str, List[str]]:
    """The intent examples of one NLU file (other sections such as regexes are ignored)."""
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    out: Dict[str, List[str]] = {}
    for block in data.get("nlu") or []:
        if "intent" in block:
            lines = [line.strip() for line in str(block.get("examples", "")).splitlines()]
            out.setdefault(block["intent"], []).extend(
                line[2:].strip() for line in lines if line.startswith("- ")
            )
    return out


def write_examples(path: Path, examples: Dict[str, Iterable[str]]) -> None:
    parts = ['version: "3.1"', "nlu:"]
    for intent, lines in examples.items():
        parts.append(f"- intent: {intent}")
        parts.append("  examples: |")
        parts.extend(f"    - {line}" for line in lines)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text("\n".join(parts) + "\n", encoding="utf-8")


def plain_text(example: str) -> str:
    """The example as the resident wrote it, without the entity markup."""
    return ENTITY_RE.sub(lambda m: m.group("text"), example)


def annotated_entities(example: str) -> List[Tuple[str, str]]:
    """(entity type, surface text) pairs annotated in an example; ``location:value`` → location."""
    return [(m.group("entity").split(":")[0].split("{")[0], m.group("text"))
            for m in ENTITY_RE.finditer(example)]
