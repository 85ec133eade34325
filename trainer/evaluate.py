"""Evaluate a trained model on the fixed held-out split and on the real-message domain dev set.

Writes `reports/nlu/report.md`, `report.json` and `confusion_matrix.png`: accuracy, macro-F1,
per-intent precision/recall/F1, entity F1 per type, the worst-confused pairs, the fallback
threshold table, and the event-type → domain macro-F1 on real citizen messages.

    python -m trainer.evaluate --model models/model-<hash>.tar.gz [--out reports/nlu]
"""
from __future__ import annotations

import argparse
import asyncio
import csv
import json
import logging
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support

from bot.nlu.normalise import normalise
from routing.catalog import load_catalog
from trainer.nlu_files import annotated_entities, plain_text, read_examples

ROOT = Path(__file__).resolve().parent.parent
HELDOUT_DIR = ROOT / "nlu_eval" / "heldout"
REALTEXT_LABELS = ROOT / "nlu_eval" / "realtext_domain_labels.csv"
REALTEXT_CSV = ROOT.parent / "shared" / "realtext" / "citizen_messages_unlabelled.csv"
ENTITY_TYPES = ("location", "party", "time")
NO_DOMAIN = "(非事件)"
FALLBACK = "nlu_fallback"
# Domains with fewer gold messages than this give per-class F1 too noisy to average on their own.
FREQUENT_DOMAIN = 9
THRESHOLDS = (0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5)


@dataclass
class Prediction:
    text: str
    intent: str
    confidence: float
    entities: List[Tuple[str, str]]
    # The classifier's ranking (intent, confidence), best first, without nlu_fallback.
    ranking: List[Tuple[str, float]] = field(default_factory=list)


class Parser:
    """Parses texts with a trained model, in process."""

    def __init__(self, model_path: Path):
        from rasa.core.agent import Agent

        self.agent = Agent.load(str(model_path))

    async def _parse(self, text: str) -> Prediction:
        result = await self.agent.parse_message(text)
        # The classifier's own answer: FallbackClassifier puts nlu_fallback in front of it.
        ranking = [r for r in result.get("intent_ranking") or [] if r.get("name") != FALLBACK]
        intent = ranking[0] if ranking else (result.get("intent") or {})
        return Prediction(
            text=text,
            intent=intent.get("name") or "",
            confidence=float(intent.get("confidence") or 0.0),
            entities=[(e["entity"], str(e.get("value"))) for e in result.get("entities") or []],
            ranking=[(r.get("name") or "", float(r.get("confidence") or 0.0)) for r in ranking[:5]],
        )

    def parse_all(self, texts: Sequence[str]) -> List[Prediction]:
        async def run() -> List[Prediction]:
            return [await self._parse(t) for t in texts]

        return asyncio.run(run())


def load_heldout(directory: Path = HELDOUT_DIR) -> List[Tuple[str, str]]:
    """(annotated example, intent) pairs of the held-out split."""
    pairs = []
    for path in sorted(directory.rglob("*.yml")):
        for intent, examples in read_examples(path).items():
            pairs.extend((example, intent) for example in examples)
    return pairs


def load_realtext(labels: Path = REALTEXT_LABELS, texts: Path = REALTEXT_CSV) -> List[Tuple[str, str]]:
    """(message, gold domain) pairs, or [] when the shared real messages are not beside the repo."""
    if not labels.exists() or not texts.exists():
        return []
    with texts.open(encoding="utf-8") as f:
        by_id = {row["id"]: f"{row['title']}\n{row['detail']}" for row in csv.DictReader(f)}
    with labels.open(encoding="utf-8") as f:
        return [(by_id[row["id"]], row["domain"]) for row in csv.DictReader(f) if row["id"] in by_id]


def _prf(gold: Counter, predicted: Counter) -> Dict[str, float]:
    hits = sum((gold & predicted).values())
    p = hits / sum(predicted.values()) if predicted else 0.0
    r = hits / sum(gold.values()) if gold else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": p, "recall": r, "f1": f, "support": sum(gold.values())}


def entity_scores(examples: Sequence[str], predictions: Sequence[Prediction]) -> Dict[str, Dict]:
    """Per entity type: exact match of (type, normalised surface text), counted as multisets."""
    scores = {}
    for entity_type in ENTITY_TYPES:
        gold, predicted = Counter(), Counter()
        for index, (example, prediction) in enumerate(zip(examples, predictions)):
            gold.update((index, normalise(text).text) for kind, text in annotated_entities(example)
                        if kind == entity_type)
            predicted.update((index, value) for kind, value in prediction.entities if kind == entity_type)
        scores[entity_type] = _prf(gold, predicted)
    return scores


def intent_scores(gold: Sequence[str], predicted: Sequence[str]) -> Dict:
    labels = sorted(set(gold))
    p, r, f, s = precision_recall_fscore_support(gold, predicted, labels=labels, zero_division=0)
    return {
        "accuracy": accuracy_score(gold, predicted),
        "macro_f1": f1_score(gold, predicted, labels=labels, average="macro", zero_division=0),
        "per_intent": {
            label: {"precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]), "support": int(s[i])}
            for i, label in enumerate(labels)
        },
    }


def confused_pairs(gold: Sequence[str], predicted: Sequence[str], top: int = 15) -> List[Tuple[str, str, int]]:
    pairs = Counter((g, p) for g, p in zip(gold, predicted) if g != p)
    return [(g, p, n) for (g, p), n in pairs.most_common(top)]


def threshold_table(gold: Sequence[str], predictions: Sequence[Prediction]) -> List[Dict]:
    """For each fallback threshold: share of messages kept and accuracy on them; out-of-scope
    held-out messages count as correct when they fall back."""
    rows = []
    for threshold in THRESHOLDS:
        kept = [(g, p) for g, p in zip(gold, predictions) if p.confidence >= threshold]
        correct = sum(1 for g, p in kept if g == p.intent)
        fell_back_oos = sum(1 for g, p in zip(gold, predictions)
                            if p.confidence < threshold and g == "out_of_scope")
        wrong_kept = len(kept) - correct
        rows.append({
            "threshold": threshold,
            "kept_share": len(kept) / len(gold),
            "accuracy_kept": correct / len(kept) if kept else 0.0,
            "wrong_kept": wrong_kept,
            "fallback_share": 1 - len(kept) / len(gold),
            "out_of_scope_caught_by_fallback": fell_back_oos,
        })
    return rows


def domain_scores(gold_domains: Sequence[str], predictions: Sequence[Prediction]) -> Dict:
    catalog = load_catalog()
    predicted = [catalog[p.intent].domain if p.intent in catalog else NO_DOMAIN for p in predictions]
    labels = sorted(set(gold_domains))
    p, r, f, s = precision_recall_fscore_support(gold_domains, predicted, labels=labels, zero_division=0)
    counts = Counter(gold_domains)
    frequent = [d for d in labels if counts[d] >= FREQUENT_DOMAIN]
    return {
        "macro_f1_frequent": f1_score(gold_domains, predicted, labels=frequent, average="macro",
                                      zero_division=0) if frequent else 0.0,
        "frequent_domains": frequent,
        "messages": len(gold_domains),
        "accuracy": accuracy_score(gold_domains, predicted),
        "macro_f1": f1_score(gold_domains, predicted, labels=labels, average="macro", zero_division=0),
        "per_domain": {label: {"precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]),
                               "support": int(s[i])} for i, label in enumerate(labels)},
        "predicted_non_event": sum(1 for d in predicted if d == NO_DOMAIN),
    }


def plot_confusion(gold: Sequence[str], predicted: Sequence[str], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import confusion_matrix

    labels = sorted(set(gold) | set(predicted))
    matrix = confusion_matrix(gold, predicted, labels=labels)
    size = max(8, len(labels) * 0.22)
    fig, ax = plt.subplots(figsize=(size, size))
    ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(len(labels)), labels, rotation=90, fontsize=6)
    ax.set_yticks(range(len(labels)), labels, fontsize=6)
    ax.set_xlabel("predicted")
    ax.set_ylabel("gold (held-out)")
    for i in range(len(labels)):
        for j in range(len(labels)):
            if matrix[i, j] and i != j:
                ax.text(j, i, str(matrix[i, j]), ha="center", va="center", fontsize=5, color="red")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _fmt(x: float) -> str:
    return f"{x:.3f}"


def render_markdown(report: Dict) -> str:
    lines = [f"# NLU evaluation — {report['model']}", ""]
    h = report["heldout"]
    lines += [f"Held-out split: {h['examples']} examples, never trained on.", "",
              f"- intent accuracy: **{_fmt(h['intent']['accuracy'])}**",
              f"- intent macro-F1: **{_fmt(h['intent']['macro_f1'])}**",
              f"- event-type domain accuracy (held-out events): {_fmt(h['domain']['accuracy'])}"]
    for kind, s in h["entities"].items():
        lines.append(f"- entity `{kind}`: P {_fmt(s['precision'])} R {_fmt(s['recall'])} "
                     f"F1 **{_fmt(s['f1'])}** (gold {s['support']})")
    real = report.get("realtext")
    if real:
        lines += ["", f"## Real citizen messages ({real['messages']}, labelled by domain)", "",
                  f"- domain accuracy {_fmt(real['accuracy'])}, macro-F1 **{_fmt(real['macro_f1'])}** "
                  f"(all domains), **{_fmt(real['macro_f1_frequent'])}** over the "
                  f"{len(real['frequent_domains'])} domains with ≥{FREQUENT_DOMAIN} messages; "
                  f"predicted as non-event intents: {real['predicted_non_event']}", "",
                  "Share of these real complaints that would fall back (ask to clarify) at each "
                  "threshold: " + ", ".join(f"{t}: {share:.0%}" for t, share in real["below_threshold"].items()),
                  "", "| domain | P | R | F1 | n |", "|---|---|---|---|---|"]
        for d, s in real["per_domain"].items():
            lines.append(f"| {d} | {_fmt(s['precision'])} | {_fmt(s['recall'])} | {_fmt(s['f1'])} | {s['support']} |")
    lines += ["", "## Worst-confused pairs (gold → predicted)", ""]
    lines += [f"- {g} → {p}: {n}" for g, p, n in h["confused_pairs"]] or ["- none"]
    lines += ["", "## Fallback threshold", "",
              "| threshold | kept | accuracy on kept | wrong kept | out-of-scope caught |",
              "|---|---|---|---|---|"]
    for row in h["thresholds"]:
        lines.append(f"| {row['threshold']} | {_fmt(row['kept_share'])} | {_fmt(row['accuracy_kept'])} "
                     f"| {row['wrong_kept']} | {row['out_of_scope_caught_by_fallback']} |")
    lines += ["", "## Per intent", "", "| intent | P | R | F1 | n |", "|---|---|---|---|---|"]
    for intent, s in sorted(h["intent"]["per_intent"].items(), key=lambda kv: kv[1]["f1"]):
        lines.append(f"| {intent} | {_fmt(s['precision'])} | {_fmt(s['recall'])} | {_fmt(s['f1'])} | {s['support']} |")
    return "\n".join(lines) + "\n"


def evaluate(model: Path, out: Path, realtext: bool = True, heldout_dir: Path = HELDOUT_DIR) -> Dict:
    parser = Parser(model)
    heldout = load_heldout(heldout_dir)
    examples = [e for e, _ in heldout]
    gold = [i for _, i in heldout]
    predictions = parser.parse_all([plain_text(e) for e in examples])
    predicted = [p.intent for p in predictions]
    catalog = load_catalog()
    event_rows = [(g, p) for g, p in zip(gold, predictions) if g in catalog]
    report: Dict = {
        "model": model.name,
        "heldout": {
            "examples": len(heldout),
            "intent": intent_scores(gold, predicted),
            "entities": entity_scores(examples, predictions),
            "confused_pairs": confused_pairs(gold, predicted),
            "thresholds": threshold_table(gold, predictions),
            "domain": domain_scores([catalog[g].domain for g, _ in event_rows], [p for _, p in event_rows]),
            # Every held-out example's answer: `python -m trainer compare` diffs two models on them.
            "predictions": [{"example": e, "gold": g, "predicted": p.intent, "confidence": round(p.confidence, 4)}
                            for e, g, p in zip(examples, gold, predictions)],
        },
    }
    real = load_realtext() if realtext else []
    if real:
        real_predictions = parser.parse_all([text for text, _ in real])
        report["realtext"] = domain_scores([d for _, d in real], real_predictions)
        report["realtext"]["below_threshold"] = {
            str(t): sum(p.confidence < t for p in real_predictions) / len(real_predictions)
            for t in THRESHOLDS
        }
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
    (out / "report.md").write_text(render_markdown(report), encoding="utf-8")
    plot_confusion(gold, predicted, out / "confusion_matrix.png")
    return report


def _quiet() -> None:
    """Rasa logs every parse at debug level through structlog; an evaluation parses thousands."""
    import structlog

    logging.getLogger("rasa").setLevel(logging.ERROR)
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))


def main(argv: Optional[Iterable[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, required=True)
    ap.add_argument("--out", type=Path, default=ROOT / "reports" / "nlu")
    ap.add_argument("--heldout", type=Path, default=HELDOUT_DIR, help="held-out NLU files")
    ap.add_argument("--no-realtext", action="store_true", help="skip the real-message domain set")
    args = ap.parse_args(list(argv) if argv is not None else None)
    _quiet()
    evaluate(args.model, args.out, realtext=not args.no_realtext, heldout_dir=args.heldout)
    print((args.out / "report.md").read_text(encoding="utf-8").split("## Worst")[0])
    print(f"report written to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
