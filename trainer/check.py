"""Check: `rasa data validate`, the catalogue checks, and a data report.

Writes reports/data/data_report.md and .json: training and held-out examples per intent, the
imbalance (largest / smallest intent), entity annotations per type, and words worth adding to the
jieba user dictionary — frequent 2–4 character strings of the last merged examples
(reports/trainer/last_merge.json) and the entity texts annotated in them that jieba, with the
project's dictionary, splits into pieces. Those are also written in jieba's format to
reports/data/jieba_candidates.txt, for a trainer to review and copy into nlu_data/jieba_dict/.

Exit 1 when rasa data validate, `bot.catalog_sync --check` or the catalogue check fails.
"""
from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence, Set, Tuple

from trainer.catalog_check import count_examples
from trainer.merge import Layout, nlu_yaml_files
from trainer.nlu_files import annotated_entities, plain_text, read_examples

_CJK_RUN = re.compile(r"[\u4e00-\u9fff]+")
# Characters that rarely start or end a dictionary word worth adding.
_EDGE_STOP = set("的了在是我你他她它们和也都就还又把被给让着过吗呢吧啊呀这那有个一不很说要会到")


def entity_counts(nlu_dir: Path) -> Counter:
    counts: Counter = Counter()
    for path in nlu_yaml_files(nlu_dir):
        for examples in read_examples(path).values():
            for example in examples:
                counts.update(kind for kind, _ in annotated_entities(example))
    return counts


def load_jieba(dict_dir: Optional[Path]):
    import logging

    import jieba

    jieba.setLogLevel(logging.WARNING)
    tokenizer = jieba.Tokenizer()
    tokenizer.initialize()
    if dict_dir is not None and Path(dict_dir).exists():
        for path in sorted(Path(dict_dir).iterdir()):
            if path.is_file():
                tokenizer.load_userdict(str(path))
    return tokenizer


def vocabulary_candidates(examples: Sequence[str], tokenizer, min_count: int = 2,
                          top: int = 50) -> List[Tuple[str, int, str]]:
    """(word, count, why) worth adding to the jieba dictionary, most frequent first."""
    from bot.nlu.normalise import normalise

    def known(word: str) -> bool:
        return bool(tokenizer.FREQ.get(word))

    def split_by_jieba(word: str) -> bool:
        return len(tokenizer.lcut(word, HMM=False)) > 1

    texts = [normalise(plain_text(e)).text for e in examples]
    grams: Counter = Counter()
    for text in texts:
        seen: Set[str] = set()
        for run in _CJK_RUN.findall(text):
            for n in (2, 3, 4):
                for i in range(len(run) - n + 1):
                    seen.add(run[i:i + n])
        grams.update(seen)  # document frequency
    kept: Dict[str, Tuple[int, str]] = {}
    for gram, count in grams.items():
        if count < min_count or gram[0] in _EDGE_STOP or gram[-1] in _EDGE_STOP:
            continue
        if known(gram) or not split_by_jieba(gram):
            continue
        kept[gram] = (count, "frequent in the merged examples")
    # A string inside a longer kept string with the same count adds nothing.
    for gram in list(kept):
        if any(gram != other and gram in other and kept[other][0] >= kept[gram][0] for other in kept):
            del kept[gram]
    for example in examples:
        for kind, surface in annotated_entities(example):
            word = normalise(surface).text.strip()
            if 2 <= len(word) <= 8 and _CJK_RUN.fullmatch(word) and not known(word) and split_by_jieba(word):
                count = kept.get(word, (0, ""))[0] + 1
                kept[word] = (count, f"annotated {kind}")
    ranked = sorted(kept.items(), key=lambda kv: (-kv[1][0], -len(kv[0]), kv[0]))
    return [(word, count, why) for word, (count, why) in ranked[:top]]


def data_report(layout: Layout, merged_examples: Sequence[str], jieba_dir: Optional[Path],
                min_count: int = 2) -> Dict:
    train = count_examples(layout.nlu_dir)
    heldout = count_examples(layout.heldout_dir) if layout.heldout_dir.exists() else Counter()
    sizes = {k: v for k, v in train.items() if v}
    largest = max(sizes.items(), key=lambda kv: kv[1]) if sizes else ("", 0)
    smallest = min(sizes.items(), key=lambda kv: kv[1]) if sizes else ("", 0)
    vocab = vocabulary_candidates(merged_examples, load_jieba(jieba_dir), min_count) if merged_examples else []
    return {
        "intents": len(sizes),
        "training_examples": sum(train.values()),
        "heldout_examples": sum(heldout.values()),
        "per_intent": {k: {"train": train[k], "heldout": heldout.get(k, 0)} for k in sorted(set(train) | set(heldout))},
        "imbalance": {"largest": list(largest), "smallest": list(smallest),
                      "ratio": round(largest[1] / smallest[1], 2) if smallest[1] else None},
        "entities": dict(sorted(entity_counts(layout.nlu_dir).items())),
        "merged_examples": len(merged_examples),
        "jieba_candidates": [{"word": w, "count": c, "why": why} for w, c, why in vocab],
    }


def render_data_report(report: Dict, checks: Dict[str, List[str]]) -> str:
    im = report["imbalance"]
    lines = ["# Data report", "",
             f"- intents: {report['intents']}, training examples: {report['training_examples']}, "
             f"held-out: {report['heldout_examples']}",
             f"- imbalance: largest {im['largest'][0]} ({im['largest'][1]}), smallest {im['smallest'][0]} "
             f"({im['smallest'][1]}), ratio **{im['ratio']}**",
             "- entity annotations: " + ", ".join(f"{k} {v}" for k, v in report["entities"].items()), "",
             "## Checks", ""]
    for name, problems in checks.items():
        lines.append(f"- {name}: {'ok' if not problems else f'{len(problems)} problem(s)'}")
        lines += [f"  - {p}" for p in problems[:50]]
    lines += ["", f"## Words for the jieba dictionary (from {report['merged_examples']} merged examples)", ""]
    lines += [f"- {c['word']} ×{c['count']} ({c['why']})" for c in report["jieba_candidates"]] or ["- none"]
    lines += ["", "## Examples per intent (train / held-out)", "", "| intent | train | held-out |", "|---|---|---|"]
    for intent, n in sorted(report["per_intent"].items(), key=lambda kv: kv[1]["train"]):
        lines.append(f"| {intent} | {n['train']} | {n['heldout']} |")
    return "\n".join(lines) + "\n"


def run_command(command: Sequence[str], cwd: Path, name: str) -> List[str]:
    """[] when the command succeeds, else its last output lines as problems."""
    result = subprocess.run(list(command), cwd=cwd, capture_output=True, text=True)
    if result.returncode == 0:
        return []
    tail = (result.stdout + result.stderr).strip().splitlines()[-15:]
    return [f"{name} failed (exit {result.returncode})"] + tail


def rasa_validate_command(root: Path) -> List[str]:
    # Warnings (entity spans vs jieba tokens, common with Chinese) do not fail it; errors do.
    return [sys.executable, "-m", "rasa", "data", "validate", "--config", str(root / "config.yml"),
            "--domain", str(root / "bot" / "domain"), "--data", str(root / "nlu_data"), str(root / "bot" / "data")]


def merged_from_log(layout: Layout) -> List[str]:
    log = layout.reports_dir / "trainer" / "last_merge.json"
    if not log.exists():
        return []
    return [a["example"] for a in json.loads(log.read_text(encoding="utf-8")).get("accepted") or []]


def write_data_report(layout: Layout, checks: Dict[str, List[str]], out: Path,
                      merged: Optional[Iterable[str]] = None, jieba_dir: Optional[Path] = None,
                      min_count: int = 2) -> Dict:
    merged = list(merged if merged is not None else merged_from_log(layout))
    report = data_report(layout, merged, jieba_dir, min_count)
    report["checks"] = checks
    out.mkdir(parents=True, exist_ok=True)
    (out / "data_report.json").write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
    (out / "data_report.md").write_text(render_data_report(report, checks), encoding="utf-8")
    (out / "jieba_candidates.txt").write_text(
        "".join(f"{c['word']} 2000 n\n" for c in report["jieba_candidates"]), encoding="utf-8")
    return report
