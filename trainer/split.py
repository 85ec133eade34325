"""Create the fixed held-out split: moves examples from nlu_data/ to nlu_eval/heldout/.

Run once (already done for the shipped data); re-running only tops up intents whose held-out
share is below the target, so the held-out set stays fixed and is never trained on. Which examples
go is decided by a hash of their text, not by chance.

    python -m trainer.split [--per-event 10] [--share-conversation 0.2]
"""
from __future__ import annotations

import argparse
import hashlib
import math
from pathlib import Path
from typing import Dict, List

from trainer.nlu_files import read_examples, write_examples

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = ROOT / "nlu_data"
HELDOUT_DIR = ROOT / "nlu_eval" / "heldout"


def _key(example: str) -> str:
    return hashlib.sha1(example.encode("utf-8")).hexdigest()


def split_file(path: Path, heldout_path: Path, target: int) -> int:
    """Moves examples so that each intent of `path` has `target` held out; returns how many moved."""
    train = read_examples(path)
    heldout = read_examples(heldout_path) if heldout_path.exists() else {}
    moved = 0
    for intent, examples in train.items():
        have = heldout.setdefault(intent, [])
        need = max(0, target - len(have))
        chosen = sorted(examples, key=_key)[:need]
        have.extend(chosen)
        train[intent] = [e for e in examples if e not in set(chosen)]
        moved += len(chosen)
    if moved:
        write_examples(path, train)
        write_examples(heldout_path, {k: v for k, v in heldout.items() if v})
    return moved


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-event", type=int, default=10)
    parser.add_argument("--share-conversation", type=float, default=0.2)
    args = parser.parse_args(argv)
    total = 0
    for path in sorted(DATA_DIR.glob("events/*.yml")):
        total += split_file(path, HELDOUT_DIR / "events" / path.name, args.per_event)
    for path in sorted(DATA_DIR.glob("conversation/*.yml")):
        sizes: Dict[str, List[str]] = read_examples(path)
        smallest = min(len(v) for v in sizes.values())
        target = math.ceil(smallest * args.share_conversation)
        total += split_file(path, HELDOUT_DIR / "conversation" / path.name, target)
    print(f"moved {total} examples to {HELDOUT_DIR.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
