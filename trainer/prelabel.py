"""Pre-label unlabelled messages with the model's top types, as a review file.

Input: a CSV with `id` and either `text` or `title` + `detail` (the shape of
../shared/realtext/citizen_messages_unlabelled.csv). Output: a review file (trainer/review.py)
outside the repository's tracked files (default reports/prelabel/, which git ignores) with, per
message, the model's top types and confidences and `proposed` = the top type when its confidence
is at least --min-confidence. Rows are sorted by proposed type, most confident first, so a
trainer confirms a block of rows at a time.

Real messages are not to be copied into nlu_data/ verbatim: each row records a hash of its text,
and `merge` refuses a row whose text is still that message unless --allow-realtext. The messages
of the real-text dev set (nlu_eval/realtext_domain_labels.csv) are left out, so that nothing
written from them is ever trained on (`--include-dev` for looking only).
"""
from __future__ import annotations

import csv
import hashlib
from pathlib import Path
from typing import AbstractSet, List, Optional, Set

from trainer.collect import Predict, fill_model_answers
from trainer.review import Row, one_line


def text_hash(text: str) -> str:
    from trainer.merge import key_text

    return hashlib.sha1(key_text(text).encode("utf-8")).hexdigest()[:16]


DEV_LABELS = Path(__file__).resolve().parent.parent / "nlu_eval" / "realtext_domain_labels.csv"


def dev_ids(path: Path = DEV_LABELS) -> Set[str]:
    """The ids of the real-text dev set (never pre-labelled for training)."""
    if not path.exists():
        return set()
    with path.open(encoding="utf-8-sig") as f:
        return {str(item.get("id") or "").strip() for item in csv.DictReader(f)} - {""}


def read_messages(path: Path, limit: Optional[int] = None, offset: int = 0,
                  exclude: AbstractSet[str] = frozenset()) -> List[Row]:
    rows: List[Row] = []
    with Path(path).open(encoding="utf-8-sig") as f:
        for index, item in enumerate(csv.DictReader(f)):
            if index < offset:
                continue
            if limit is not None and len(rows) >= limit:
                break
            text = item.get("text") or "，".join(x for x in (item.get("title"), item.get("detail")) if x)
            text = one_line(text or "")
            if not text:
                continue
            row_id = item.get("id") or str(index)
            if row_id in exclude:
                continue
            rows.append(Row(id=f"msg-{row_id}", text=text,
                            source={"kind": "realtext", "file": Path(path).name, "id": row_id,
                                    "text_sha1": text_hash(text)}))
    return rows


def prelabel(rows: List[Row], predict: Predict, min_confidence: float = 0.25, top: int = 3) -> List[Row]:
    fill_model_answers(rows, predict, top=top)
    for row in rows:
        confidence = row.model.get("confidence") or 0.0
        row.proposed = row.model.get("intent") or "" if confidence >= min_confidence else ""
    return sorted(rows, key=lambda r: (r.proposed == "", r.proposed, -(r.model.get("confidence") or 0.0)))
