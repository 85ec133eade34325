"""Compare a candidate model with the current one on the fixed held-out split; the verdict gates
`promote`.

Both models are evaluated with `trainer.evaluate` on nlu_eval/heldout/ (a model's report is
cached under reports/trainer/eval/<model>-<held-out hash>/, so the current model is evaluated once
per held-out version). The comparison:

  - macro-F1 delta, per-intent F1 deltas, entity F1 deltas per type,
  - newly confused pairs (gold → predicted pairs the candidate gets wrong more often),
  - the real-message domain macro-F1 delta (information only),

written as reports/trainer/compare/compare.md, compare.json and compare.png. The verdict is
BLOCK when the candidate loses more than a tolerance: macro-F1 (--tol-macro, default 0.01), any
intent's F1 (--tol-intent, 0.05), any entity type's F1 (--tol-entity, 0.05); else PASS.
`promote` refuses a candidate without a PASS verdict unless --force.
"""
from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from trainer.review import now_iso


@dataclass
class Tolerances:
    macro: float = 0.01
    intent: float = 0.05
    entity: float = 0.05


def heldout_hash(directory: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(Path(directory).rglob("*.yml")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def evaluate_cached(model: Path, cache_root: Path, heldout_dir: Path, realtext: bool = True) -> Dict:
    """The evaluation report of `model` on `heldout_dir`, computed once per (model, held-out)."""
    from trainer.evaluate import _quiet, evaluate

    model = Path(model).resolve()
    stem = model.name.replace(".tar.gz", "")
    out = Path(cache_root) / f"{stem}-{heldout_hash(heldout_dir)}{'' if realtext else '-norealtext'}"
    cached = out / "report.json"
    if cached.exists() and cached.stat().st_mtime >= model.stat().st_mtime:
        return json.loads(cached.read_text(encoding="utf-8"))
    _quiet()
    return evaluate(model, out, realtext=realtext, heldout_dir=heldout_dir)


def _pairs(report: Dict) -> Counter:
    h = report["heldout"]
    if h.get("predictions"):
        return Counter((p["gold"], p["predicted"]) for p in h["predictions"] if p["gold"] != p["predicted"])
    return Counter({(g, p): n for g, p, n in h.get("confused_pairs") or []})


def compare_reports(current: Dict, candidate: Dict, tol: Optional[Tolerances] = None) -> Dict:
    tol = tol or Tolerances()
    cur_h, cand_h = current["heldout"], candidate["heldout"]
    blocking: List[str] = []
    notes: List[str] = []

    macro_cur, macro_cand = cur_h["intent"]["macro_f1"], cand_h["intent"]["macro_f1"]
    macro_delta = macro_cand - macro_cur
    if macro_delta < -tol.macro:
        blocking.append(f"macro-F1 {macro_cur:.3f} → {macro_cand:.3f} ({macro_delta:+.3f}, tolerance {tol.macro})")

    per_intent = []
    cur_pi, cand_pi = cur_h["intent"]["per_intent"], cand_h["intent"]["per_intent"]
    for intent in sorted(set(cur_pi) | set(cand_pi)):
        before = cur_pi.get(intent, {}).get("f1")
        after = cand_pi.get(intent, {}).get("f1")
        if before is None or after is None:
            notes.append(f"intent '{intent}' is only in the {'candidate' if before is None else 'current'} "
                         f"model's evaluation (held-out changed?)")
            per_intent.append({"intent": intent, "current": before, "candidate": after, "delta": None,
                               "support": (cand_pi.get(intent) or cur_pi.get(intent) or {}).get("support"),
                               "regression": False})
            continue
        delta = after - before
        regression = delta < -tol.intent
        if regression:
            blocking.append(f"intent '{intent}' F1 {before:.3f} → {after:.3f} ({delta:+.3f}, tolerance {tol.intent})")
        per_intent.append({"intent": intent, "current": before, "candidate": after, "delta": delta,
                           "support": cand_pi[intent].get("support"), "regression": regression})

    entities = []
    for kind in sorted(set(cur_h.get("entities") or {}) | set(cand_h.get("entities") or {})):
        before = (cur_h.get("entities") or {}).get(kind, {}).get("f1")
        after = (cand_h.get("entities") or {}).get(kind, {}).get("f1")
        if before is None or after is None:
            continue
        delta = after - before
        regression = delta < -tol.entity
        if regression:
            blocking.append(f"entity '{kind}' F1 {before:.3f} → {after:.3f} ({delta:+.3f}, tolerance {tol.entity})")
        entities.append({"entity": kind, "current": before, "candidate": after, "delta": delta,
                         "regression": regression})

    cur_pairs, cand_pairs = _pairs(current), _pairs(candidate)
    newly = sorted(((g, p, cur_pairs.get((g, p), 0), n) for (g, p), n in cand_pairs.items()
                    if n > cur_pairs.get((g, p), 0)), key=lambda t: (-(t[3] - t[2]), t[0], t[1]))
    fixed = sorted(((g, p, n, cand_pairs.get((g, p), 0)) for (g, p), n in cur_pairs.items()
                    if n > cand_pairs.get((g, p), 0)), key=lambda t: (-(t[2] - t[3]), t[0], t[1]))
    if current["heldout"].get("examples") != candidate["heldout"].get("examples"):
        notes.append("the two evaluations used held-out sets of different sizes")

    real = None
    if current.get("realtext") and candidate.get("realtext"):
        real = {"current": current["realtext"]["macro_f1"], "candidate": candidate["realtext"]["macro_f1"],
                "delta": candidate["realtext"]["macro_f1"] - current["realtext"]["macro_f1"]}

    return {
        "verdict": "BLOCK" if blocking else "PASS",
        "blocking": blocking,
        "notes": notes,
        "tolerances": asdict(tol),
        "current_model": current.get("model"),
        "candidate_model": candidate.get("model"),
        "macro_f1": {"current": macro_cur, "candidate": macro_cand, "delta": macro_delta},
        "accuracy": {"current": cur_h["intent"]["accuracy"], "candidate": cand_h["intent"]["accuracy"]},
        "per_intent": per_intent,
        "entities": entities,
        "newly_confused": [{"gold": g, "predicted": p, "current": a, "candidate": b} for g, p, a, b in newly],
        "fixed_confusions": [{"gold": g, "predicted": p, "current": a, "candidate": b} for g, p, a, b in fixed],
        "realtext_domain_macro_f1": real,
    }


def render_compare(result: Dict) -> str:
    m = result["macro_f1"]
    lines = [f"# Candidate vs current model — verdict: **{result['verdict']}**", "",
             f"- current:   `{result['current_model']}`", f"- candidate: `{result['candidate_model']}`",
             f"- macro-F1: {m['current']:.3f} → {m['candidate']:.3f} (**{m['delta']:+.3f}**)",
             f"- accuracy: {result['accuracy']['current']:.3f} → {result['accuracy']['candidate']:.3f}"]
    real = result.get("realtext_domain_macro_f1")
    if real:
        lines.append(f"- real messages, domain macro-F1 (information): {real['current']:.3f} → "
                     f"{real['candidate']:.3f} ({real['delta']:+.3f})")
    t = result["tolerances"]
    lines.append(f"- tolerances: macro-F1 {t['macro']}, per-intent F1 {t['intent']}, entity F1 {t['entity']}")
    lines += ["", "## Blocking regressions", ""]
    lines += [f"- {b}" for b in result["blocking"]] or ["- none"]
    if result["notes"]:
        lines += ["", "## Notes", ""] + [f"- {n}" for n in result["notes"]]
    lines += ["", "## Entities", "", "| entity | current | candidate | delta |", "|---|---|---|---|"]
    for e in result["entities"]:
        lines.append(f"| {e['entity']} | {e['current']:.3f} | {e['candidate']:.3f} | {e['delta']:+.3f}"
                     f"{' ✗' if e['regression'] else ''} |")
    lines += ["", "## Newly confused pairs (gold → predicted: errors before → after)", ""]
    lines += [f"- {c['gold']} → {c['predicted']}: {c['current']} → {c['candidate']}"
              for c in result["newly_confused"][:30]] or ["- none"]
    lines += ["", "## Confusions reduced", ""]
    lines += [f"- {c['gold']} → {c['predicted']}: {c['current']} → {c['candidate']}"
              for c in result["fixed_confusions"][:30]] or ["- none"]
    lines += ["", "## Per intent (changed F1 first)", "", "| intent | current | candidate | delta | n |",
              "|---|---|---|---|---|"]
    rows = sorted(result["per_intent"], key=lambda r: (r["delta"] is None, r["delta"] or 0.0, r["intent"]))
    for r in rows:
        fmt = lambda x: "—" if x is None else f"{x:.3f}"  # noqa: E731
        delta = "—" if r["delta"] is None else f"{r['delta']:+.3f}"
        lines.append(f"| {r['intent']} | {fmt(r['current'])} | {fmt(r['candidate'])} | {delta}"
                     f"{' ✗' if r['regression'] else ''} | {r['support']} |")
    return "\n".join(lines) + "\n"


def plot_compare(result: Dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = sorted([r for r in result["per_intent"] if r["delta"] is not None], key=lambda r: r["delta"])
    labels = [r["intent"] for r in rows] + [f"[entity] {e['entity']}" for e in result["entities"]] + ["[macro-F1]"]
    deltas = [r["delta"] for r in rows] + [e["delta"] for e in result["entities"]] + [result["macro_f1"]["delta"]]
    bad = [r["regression"] for r in rows] + [e["regression"] for e in result["entities"]] + \
          [result["macro_f1"]["delta"] < -result["tolerances"]["macro"]]
    colours = ["#c0392b" if b else ("#27ae60" if d > 0 else "#95a5a6") for d, b in zip(deltas, bad)]
    fig, ax = plt.subplots(figsize=(8, max(4, 0.2 * len(labels) + 1.5)))
    ax.barh(range(len(labels)), deltas, color=colours)
    ax.set_yticks(range(len(labels)), labels, fontsize=6)
    ax.axvline(0, color="black", linewidth=0.6)
    span = max([abs(d) for d in deltas] + [result["tolerances"]["intent"]]) * 1.2
    ax.set_xlim(-span, span)
    ax.axvline(-result["tolerances"]["intent"], color="#c0392b", linestyle="--", linewidth=0.6,
               label=f"per-intent tolerance -{result['tolerances']['intent']}")
    ax.set_xlabel("F1 delta (candidate − current) on the held-out split")
    ax.set_title(f"verdict {result['verdict']}: macro-F1 {result['macro_f1']['current']:.3f} → "
                 f"{result['macro_f1']['candidate']:.3f}", fontsize=9)
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_compare(result: Dict, out: Path, current_path: Optional[Path] = None,
                  candidate_path: Optional[Path] = None) -> Tuple[Path, Path, Path]:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    result = dict(result)
    result["at"] = now_iso()
    if candidate_path is not None:
        result["candidate_path"] = str(Path(candidate_path).resolve())
    if current_path is not None:
        result["current_path"] = str(Path(current_path).resolve())
    paths = out / "compare.md", out / "compare.json", out / "compare.png"
    paths[0].write_text(render_compare(result), encoding="utf-8")
    paths[1].write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
    plot_compare(result, paths[2])
    return paths
