"""Merge reviewed rows into nlu_data/, refusing anything that would make the data worse.

For each row whose decision is keep / change:<intent>, the text is normalised (the same
`bot.nlu.normalise` the pipeline runs; entity annotations are carried over onto the normalised
text) and checked against every training example (nlu_data/) and every held-out example
(nlu_eval/heldout/), compared on normalised plain text:

  unknown_intent      the intent is neither a catalogue code nor an intent of the domain
  unknown_entity      an annotation uses an entity type the domain does not declare
  duplicate           the same text is already a training example of that intent
  near_duplicate      a training example of that intent is nearly the same (char-bigram Jaccard
                      ≥ --near, default 0.8)
  conflict            the same or a nearly the same text is an example of ANOTHER intent
  heldout_leak        the same or a nearly the same text is in the held-out split (training on
                      it would inflate the evaluation)
  batch_duplicate     an earlier row of the same review file has the same / nearly the same text
  bad_decision        the decision field is not keep | change:<intent> | drop | review
  verbatim_realtext   a pre-labelled real message (`prelabel`) kept word for word: real messages
                      are not copied into the repository (rewrite it, or --allow-realtext)

By default one refused row refuses the whole merge (nothing is written, exit 1), so a bad merge
cannot slip in half-done; --skip-refused writes the accepted rows and reports the rest; --dry-run
writes nothing. Accepted examples are appended to the intent's block in
nlu_data/events/<code>.yml (event types) or to the conversation file that already holds the
intent (nlu_data/conversation/<intent>.yml when none does). A merge log (what was added where) is
written to reports/trainer/last_merge.json, which `check` uses for its vocabulary suggestions.
"""
from __future__ import annotations

import hashlib
import json
import re
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence, Set, Tuple

from bot.nlu.normalise import normalise
from trainer.nlu_files import ENTITY_RE, annotated_entities, plain_text, read_examples
from trainer.review import Row, now_iso, one_line, read_review

ROOT = Path(__file__).resolve().parent.parent
NEAR_THRESHOLD = 0.8
_STRIP = re.compile(r"[\s\W_]+", re.UNICODE)


# ------------------------------------------------------------------------------- text helpers
def normalise_example(example: str) -> str:
    """Normalises an annotated example, keeping the annotations on the normalised text."""
    example = one_line(example)
    plain, spans, cursor = [], [], 0
    length = 0
    for m in ENTITY_RE.finditer(example):
        before = example[cursor:m.start()]
        plain.append(before)
        length += len(before)
        spans.append((length, length + len(m.group("text")), m.group("entity")))
        plain.append(m.group("text"))
        length += len(m.group("text"))
        cursor = m.end()
    plain.append(example[cursor:])
    result = normalise("".join(plain))
    text = result.text
    for start, end, entity in reversed(spans):
        s, e = result.map_span(start, end)
        if s >= e:  # the annotated words were removed (a filler): drop the markup
            continue
        text = f"{text[:s]}[{text[s:e]}]({entity}){text[e:]}"
    return text.strip()


def key_text(example: str) -> str:
    """What duplicates are compared on: normalised plain text without blanks and punctuation."""
    return _STRIP.sub("", normalise(plain_text(example)).text).lower()


def bigrams(text: str) -> Set[str]:
    if len(text) < 2:
        return {text} if text else set()
    return {text[i:i + 2] for i in range(len(text) - 1)}


# ------------------------------------------------------------------------------- existing data
@dataclass(frozen=True)
class Known:
    intent: str
    example: str
    path: str
    heldout: bool


class ExampleIndex:
    """Existing examples by exact key and by char bigram (for near-duplicate search)."""

    def __init__(self) -> None:
        self.items: List[Tuple[Known, str, Set[str]]] = []
        self.by_key: Dict[str, List[int]] = defaultdict(list)
        self.by_gram: Dict[str, Set[int]] = defaultdict(set)

    def add(self, known: Known) -> None:
        key = key_text(known.example)
        grams = bigrams(key)
        index = len(self.items)
        self.items.append((known, key, grams))
        self.by_key[key].append(index)
        for gram in grams:
            self.by_gram[gram].add(index)

    def add_files(self, paths: Iterable[Path], heldout: bool, root: Path) -> None:
        for path in paths:
            for intent, examples in read_examples(path).items():
                for example in examples:
                    self.add(Known(intent, example, _rel(path, root), heldout))

    def exact(self, key: str) -> List[Known]:
        return [self.items[i][0] for i in self.by_key.get(key, [])]

    def near(self, key: str, threshold: float) -> List[Tuple[Known, float]]:
        grams = bigrams(key)
        if not grams:
            return []
        shared: Dict[int, int] = defaultdict(int)
        for gram in grams:
            for i in self.by_gram.get(gram, ()):
                shared[i] += 1
        out = []
        for i, n in shared.items():
            other = self.items[i][2]
            score = n / (len(grams) + len(other) - n)
            if score >= threshold and self.items[i][1] != key:
                out.append((self.items[i][0], score))
        return sorted(out, key=lambda kv: -kv[1])


def _rel(path: Path, root: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(root.resolve()))
    except ValueError:
        return str(path)


def nlu_yaml_files(directory: Path) -> List[Path]:
    return sorted(p for p in Path(directory).rglob("*.yml")) if Path(directory).exists() else []


# ------------------------------------------------------------------------------- the plan
@dataclass
class Problem:
    row: str
    kind: str
    detail: str


@dataclass
class Accepted:
    row: str
    intent: str
    example: str
    path: str


@dataclass
class MergePlan:
    accepted: List[Accepted] = field(default_factory=list)
    refused: List[Problem] = field(default_factory=list)
    dropped: List[str] = field(default_factory=list)
    undecided: List[str] = field(default_factory=list)

    @property
    def refused_rows(self) -> Set[str]:
        return {p.row for p in self.refused}


@dataclass
class Layout:
    """Where things are; every step takes one so that tests run on fixture trees."""

    root: Path
    nlu_dir: Path
    heldout_dir: Path
    reports_dir: Path

    @classmethod
    def of(cls, root: Path = ROOT) -> "Layout":
        root = Path(root)
        return cls(root, root / "nlu_data", root / "nlu_eval" / "heldout", root / "reports")


def target_file(layout: Layout, intent: str, event_codes: Set[str],
                intent_files: Dict[str, Path]) -> Path:
    if intent in intent_files:
        return intent_files[intent]
    if intent in event_codes:
        return layout.nlu_dir / "events" / f"{intent}.yml"
    return layout.nlu_dir / "conversation" / f"{intent}.yml"


def plan_merge(rows: Sequence[Row], layout: Layout, event_codes: Set[str], other_intents: Set[str],
               entity_types: Optional[Set[str]] = None, near: float = NEAR_THRESHOLD,
               allow_realtext: bool = False) -> MergePlan:
    """Decides, row by row, what would be written where and what is refused (writes nothing)."""
    plan = MergePlan()
    index = ExampleIndex()
    index.add_files(nlu_yaml_files(layout.nlu_dir), heldout=False, root=layout.root)
    index.add_files(nlu_yaml_files(layout.heldout_dir), heldout=True, root=layout.root)
    intent_files: Dict[str, Path] = {}
    for path in nlu_yaml_files(layout.nlu_dir):
        for intent in read_examples(path):
            intent_files.setdefault(intent, path)
    known_intents = set(event_codes) | set(other_intents)
    batch = ExampleIndex()

    for row in rows:
        bad = row.check_decision()
        if bad:
            plan.refused.append(Problem(row.id, "bad_decision", bad))
            continue
        decision = row.decision.strip()
        if decision == "drop":
            plan.dropped.append(row.id)
            continue
        intent = row.label()
        if intent is None:
            plan.undecided.append(row.id)
            continue
        problems: List[Problem] = []
        if intent not in known_intents:
            problems.append(Problem(row.id, "unknown_intent",
                                    f"'{intent}' is neither a catalogue code nor a domain intent"))
        example = normalise_example(row.text)
        if entity_types is not None:
            for kind, surface in annotated_entities(example):
                if kind not in entity_types:
                    problems.append(Problem(row.id, "unknown_entity",
                                            f"[{surface}]({kind}): entity '{kind}' is not in the domain"))
        key = key_text(example)
        if (not allow_realtext and row.source.get("kind") == "realtext"
                and row.source.get("text_sha1") == hashlib.sha1(key_text(row.text).encode("utf-8")).hexdigest()[:16]):
            problems.append(Problem(row.id, "verbatim_realtext",
                                    "a real message word for word: rewrite it (or --allow-realtext)"))
        if not key:
            problems.append(Problem(row.id, "empty", "no text left after normalisation"))
        for other in index.exact(key):
            problems.append(_clash(row.id, intent, other, "same text"))
        for other, score in index.near(key, near)[:3]:
            problems.append(_clash(row.id, intent, other, f"similarity {score:.2f}"))
        for other in batch.exact(key) + [k for k, _ in batch.near(key, near)[:1]]:
            problems.append(Problem(row.id, "batch_duplicate",
                                    f"same or nearly the same as row {other.path} ({other.intent})"))
        if problems:
            plan.refused.extend(_dedupe(problems))
            continue
        path = target_file(layout, intent, event_codes, intent_files)
        batch.add(Known(intent, example, row.id, heldout=False))
        plan.accepted.append(Accepted(row.id, intent, example, _rel(path, layout.root)))
    return plan


def _clash(row_id: str, intent: str, other: Known, how: str) -> Problem:
    where = f"{other.path}: '{other.example}' ({other.intent}; {how})"
    exact = how == "same text"
    if other.heldout:
        return Problem(row_id, "heldout_leak", f"held-out example {where}")
    if other.intent != intent:
        return Problem(row_id, "conflict", f"example of another intent {where}")
    return Problem(row_id, "duplicate" if exact else "near_duplicate", f"already in {where}")


def _dedupe(problems: List[Problem]) -> List[Problem]:
    seen, out = set(), []
    for p in problems:
        if (p.kind, p.detail) not in seen:
            seen.add((p.kind, p.detail))
            out.append(p)
    return out


# ------------------------------------------------------------------------------- writing
def append_examples(path: Path, intent: str, examples: Sequence[str]) -> None:
    """Appends examples to the intent's block of a Rasa NLU file, keeping everything else as it is
    (comments, other sections); creates the block or the file when needed."""
    path = Path(path)
    before = read_examples(path) if path.exists() else {}
    new_lines = [f"    - {e}" for e in examples]
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(['version: "3.1"', "nlu:", f"- intent: {intent}", "  examples: |",
                                   *new_lines]) + "\n", encoding="utf-8")
    else:
        lines = path.read_text(encoding="utf-8").splitlines()
        start = next((i for i, line in enumerate(lines)
                      if re.fullmatch(rf"-\s+intent:\s*['\"]?{re.escape(intent)}['\"]?\s*", line)), None)
        if start is None:
            lines += [f"- intent: {intent}", "  examples: |", *new_lines]
        else:
            last = start
            for i in range(start + 1, len(lines)):
                if lines[i].startswith("- ") or (lines[i] and not lines[i].startswith(" ")):
                    break  # the next block
                if lines[i].strip().startswith("- "):
                    last = i
            lines[last + 1:last + 1] = new_lines
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    after = read_examples(path)
    expected = before.get(intent, []) + list(examples)
    if after.get(intent) != expected:
        raise RuntimeError(f"{path}: appending to '{intent}' did not give the expected examples")


def apply_plan(plan: MergePlan, layout: Layout) -> None:
    grouped: Dict[Tuple[str, str], List[str]] = defaultdict(list)
    for a in plan.accepted:
        grouped[(a.path, a.intent)].append(a.example)
    for (rel, intent), examples in grouped.items():
        path = Path(rel) if Path(rel).is_absolute() else layout.root / rel
        append_examples(path, intent, examples)


def render_plan(plan: MergePlan, dry_run: bool, written: bool) -> str:
    lines = []
    head = "DRY RUN — nothing written" if dry_run else ("merged" if written else "REFUSED — nothing written")
    lines.append(f"merge: {head}")
    lines.append(f"  accepted {len(plan.accepted)}, refused {len(plan.refused_rows)}, "
                 f"dropped {len(plan.dropped)}, undecided (skipped) {len(plan.undecided)}")
    by_target: Dict[str, int] = defaultdict(int)
    for a in plan.accepted:
        by_target[f"{a.path} ({a.intent})"] += 1
    for target, n in sorted(by_target.items()):
        lines.append(f"  + {n:3d} → {target}")
    if plan.refused:
        lines.append("refused:")
        for p in plan.refused:
            lines.append(f"  - row {p.row}: {p.kind}: {p.detail}")
    return "\n".join(lines)


def merge_file(review_path: Path, layout: Layout, event_codes: Set[str], other_intents: Set[str],
               entity_types: Optional[Set[str]] = None, near: float = NEAR_THRESHOLD,
               dry_run: bool = False, skip_refused: bool = False,
               allow_realtext: bool = False) -> Tuple[MergePlan, bool, str]:
    """Plans, and unless refused or a dry run, writes. Returns (plan, written, report text)."""
    _, rows = read_review(review_path)
    plan = plan_merge(rows, layout, event_codes, other_intents, entity_types, near, allow_realtext)
    write = not dry_run and plan.accepted and (skip_refused or not plan.refused)
    if write:
        apply_plan(plan, layout)
        log = {"at": now_iso(), "review_file": str(review_path),
               "accepted": [asdict(a) for a in plan.accepted],
               "refused": [asdict(p) for p in plan.refused]}
        out = layout.reports_dir / "trainer"
        out.mkdir(parents=True, exist_ok=True)
        (out / "last_merge.json").write_text(json.dumps(log, ensure_ascii=False, indent=1), encoding="utf-8")
        with (out / "merge_history.jsonl").open("a", encoding="utf-8") as f:
            f.write(json.dumps(log, ensure_ascii=False) + "\n")
    return plan, bool(write), render_plan(plan, dry_run, bool(write))
