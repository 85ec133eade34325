"""The trainer loop, one CLI: collect → (review) → merge → check → train/compare → promote.

    python -m trainer collect   [--since ISO] [--uncertain N] [--out FILE]
    python -m trainer merge     REVIEW_FILE [--dry-run] [--skip-refused]
    python -m trainer check     [--no-rasa]
    python -m trainer train     [--force] [--no-compare]        (trains a candidate, then compares)
    python -m trainer compare   [--candidate M] [--current M]
    python -m trainer promote   [--candidate M] [--force] [--no-reload]
    python -m trainer rollback  [--no-reload]
    python -m trainer prelabel  [--input CSV] [--limit N] [--out FILE]
    python -m trainer status

Details: docs/trainer.md.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import List, Optional, Set

import yaml

ROOT = Path(__file__).resolve().parent.parent
REALTEXT_CSV = ROOT.parent / "shared" / "realtext" / "citizen_messages_unlabelled.csv"


def _stamp() -> str:
    return datetime.now().strftime("%Y%m%d-%H%M%S")


def _domain_entities(domain_dir: Path) -> Set[str]:
    out: Set[str] = set()
    for path in sorted(Path(domain_dir).rglob("*.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for item in data.get("entities") or []:
            out.add(item if isinstance(item, str) else next(iter(item)))
    return out


def _predictor(model: Optional[Path]):
    if model is None:
        return None
    from trainer.evaluate import Parser, _quiet

    _quiet()
    print(f"loading {model} …", file=sys.stderr)
    return Parser(model).parse_all


def _model_arg(args, root: Path) -> Optional[Path]:
    from trainer.promote import served_model

    if getattr(args, "no_model", False):
        return None
    if args.model:
        return Path(args.model)
    model = served_model(root / "models")
    if model is None:
        print("no model found (models/current or models/model-*.tar.gz): model answers left empty",
              file=sys.stderr)
    return model


# ------------------------------------------------------------------------------------ commands
def cmd_collect(args) -> int:
    from trainer.collect import BackendClient, BackendError, collect
    from trainer.review import write_review

    root = Path(args.root)
    token = args.token or os.environ.get("TRAINER_ROUTING_TOKEN") or os.environ.get("ROUTING_TOKEN")
    url = args.url or os.environ.get("ROUTING_URL") or "http://127.0.0.1:8000"
    model = _model_arg(args, root)
    try:
        result = collect(BackendClient(url, token), _predictor(model), since=args.since,
                         uncertain=args.uncertain, recent=args.recent)
    except BackendError as exc:
        print(f"collect: {exc}", file=sys.stderr)
        return 2
    out = Path(args.out or root / "reports" / "trainer" / f"review-{_stamp()}.yml")
    write_review(out, result.rows, model=str(model) if model else None, extra={"backend": url})
    print(f"{len(result.rows)} rows ({result.candidates} from operators' corrections, {result.uncertain} "
          f"uncertain tickets) → {out}")
    print(f"next: edit the `decision` of each row, then  python -m trainer merge {out} --dry-run")
    return 0


def cmd_merge(args) -> int:
    from routing.catalog import load_catalog
    from trainer.catalog_check import domain_intents
    from trainer.merge import Layout, merge_file
    from trainer.review import ReviewError

    root = Path(args.root)
    layout = Layout.of(root)
    try:
        plan, written, text = merge_file(
            Path(args.review), layout, set(load_catalog().codes), domain_intents(root / "bot" / "domain"),
            _domain_entities(root / "bot" / "domain"), near=args.near, dry_run=args.dry_run,
            skip_refused=args.skip_refused, allow_realtext=args.allow_realtext)
    except ReviewError as exc:
        print(f"merge: {exc}", file=sys.stderr)
        return 2
    print(text)
    if plan.refused and not written and not args.dry_run:
        print("fix the refused rows in the review file (edit the text, change the label or drop them), "
              "or merge the others with --skip-refused", file=sys.stderr)
        return 1
    if written:
        print("next: python -m trainer check")
    return 1 if plan.refused and not args.skip_refused else 0


def cmd_check(args) -> int:
    from trainer.catalog_check import check_project
    from trainer.check import rasa_validate_command, run_command, write_data_report
    from trainer.merge import Layout

    root = Path(args.root)
    checks = {}
    if not args.no_rasa:
        print("rasa data validate …", file=sys.stderr)
        checks["rasa data validate"] = run_command(rasa_validate_command(root), root, "rasa data validate")
        checks["bot.catalog_sync --check"] = run_command([sys.executable, "-m", "bot.catalog_sync", "--check"],
                                                         root, "bot.catalog_sync --check")
    checks["catalogue ⇄ NLU data ⇄ domain ⇄ routing rules"] = check_project(root)
    out = Path(args.out or root / "reports" / "data")
    report = write_data_report(Layout.of(root), checks, out, jieba_dir=root / "nlu_data" / "jieba_dict",
                               min_count=args.min_count)
    print((out / "data_report.md").read_text(encoding="utf-8").split("## Examples per intent")[0])
    print(f"report: {out}/data_report.md, jieba suggestions: {out}/jieba_candidates.txt "
          f"({len(report['jieba_candidates'])})")
    failed = [name for name, problems in checks.items() if problems]
    if failed:
        print(f"check FAILED: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


def _latest_candidate(root: Path) -> Optional[Path]:
    models = sorted((root / "models" / "candidates").glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)
    return models[-1] if models else None


def train_candidate(root: Path, force: bool = False) -> Path:
    command = [sys.executable, str(root / "scripts" / "train_model.py"), "--out", "models/candidates",
               "--prefix", "candidate"] + (["--force"] if force else [])
    result = subprocess.run(command, cwd=root, stdout=subprocess.PIPE, text=True)
    lines = result.stdout.strip().splitlines()
    if result.returncode != 0 or not lines:
        raise RuntimeError(f"training failed (exit {result.returncode})")
    return Path(lines[-1])


def cmd_train(args) -> int:
    root = Path(args.root)
    try:
        candidate = train_candidate(root, args.force)
    except RuntimeError as exc:
        print(f"train: {exc}", file=sys.stderr)
        return 1
    print(f"candidate model: {candidate}")
    if args.no_compare:
        return 0
    args.candidate = str(candidate)
    return cmd_compare(args)


def cmd_compare(args) -> int:
    from trainer.compare import Tolerances, compare_reports, evaluate_cached, write_compare
    from trainer.promote import served_model

    root = Path(args.root)
    candidate = Path(args.candidate) if args.candidate else _latest_candidate(root)
    current = Path(args.current) if args.current else served_model(root / "models")
    if candidate is None or not candidate.exists():
        print("compare: no candidate model (run `python -m trainer train`)", file=sys.stderr)
        return 2
    if current is None or not current.exists():
        print("compare: no current model (models/current or models/model-*.tar.gz; `make train`)", file=sys.stderr)
        return 2
    heldout = root / "nlu_eval" / "heldout"
    cache = root / "reports" / "trainer" / "eval"
    print(f"evaluating current {current.name} and candidate {candidate.name} on {heldout} …", file=sys.stderr)
    cur = evaluate_cached(current, cache, heldout, realtext=not args.no_realtext)
    cand = evaluate_cached(candidate, cache, heldout, realtext=not args.no_realtext)
    result = compare_reports(cur, cand, Tolerances(args.tol_macro, args.tol_intent, args.tol_entity))
    out = Path(args.out or root / "reports" / "trainer" / "compare")
    md, _, png = write_compare(result, out, current, candidate)
    print(md.read_text(encoding="utf-8").split("## Per intent")[0])
    print(f"report: {md}, chart: {png}")
    if result["verdict"] == "BLOCK":
        print("verdict BLOCK: `promote` refuses this candidate (unless --force)", file=sys.stderr)
        return 1
    print(f"verdict PASS: python -m trainer promote --candidate {candidate}")
    return 0


def _server(args):
    from trainer.promote import RasaServer

    if args.no_reload:
        return None
    url = args.rasa_url or os.environ.get("RASA_URL") or f"http://127.0.0.1:{os.environ.get('RASA_PORT', '5005')}"
    return RasaServer(url, os.environ.get("RASA_TOKEN") or None)


def cmd_promote(args) -> int:
    import json

    from trainer.promote import PromoteError, promote

    root = Path(args.root)
    compare_json = Path(args.compare or root / "reports" / "trainer" / "compare" / "compare.json")
    candidate = args.candidate
    if not candidate and compare_json.exists():
        candidate = json.loads(compare_json.read_text(encoding="utf-8")).get("candidate_path")
    if not candidate:
        print("promote: which candidate? (--candidate, or run compare first)", file=sys.stderr)
        return 2
    try:
        print(promote(Path(candidate), root / "models", compare_json, _server(args), force=args.force))
    except PromoteError as exc:
        print(f"promote: {exc}", file=sys.stderr)
        return 1
    return 0


def cmd_rollback(args) -> int:
    from trainer.promote import PromoteError, rollback

    try:
        print(rollback(Path(args.root) / "models", _server(args)))
    except PromoteError as exc:
        print(f"rollback: {exc}", file=sys.stderr)
        return 1
    return 0


def cmd_status(args) -> int:
    import json

    from trainer.promote import linked, served_model

    models = Path(args.root) / "models"
    print(f"served (make run): {served_model(models)}")
    print(f"models/current:    {linked(models, 'current')}")
    print(f"models/previous:   {linked(models, 'previous')}")
    print(f"latest candidate:  {_latest_candidate(Path(args.root))}")
    history = models / "history.json"
    for entry in (json.loads(history.read_text(encoding="utf-8")) if history.exists() else [])[-5:]:
        print(f"  {entry['at']} {entry['action']} {Path(entry['model']).name}"
              f"{' (forced)' if entry.get('forced') else ''}")
    return 0


def cmd_prelabel(args) -> int:
    from trainer.prelabel import dev_ids, prelabel, read_messages
    from trainer.review import write_review

    root = Path(args.root)
    source = Path(args.input or REALTEXT_CSV)
    if not source.exists():
        print(f"prelabel: no such file {source}", file=sys.stderr)
        return 2
    model = _model_arg(args, root)
    if model is None:
        print("prelabel: no model", file=sys.stderr)
        return 2
    excluded = set() if args.include_dev else dev_ids(root / "nlu_eval" / "realtext_domain_labels.csv")
    rows = read_messages(source, limit=args.limit, offset=args.offset, exclude=excluded)
    rows = prelabel(rows, _predictor(model), min_confidence=args.min_confidence)
    out = Path(args.out or root / "reports" / "prelabel" / f"prelabel-{_stamp()}.yml")
    write_review(out, rows, model=str(model), extra={"source_file": str(source)})
    proposed = sum(1 for r in rows if r.proposed)
    print(f"{len(rows)} messages pre-labelled ({proposed} with a proposed type ≥ {args.min_confidence}) → {out}")
    return 0


# ------------------------------------------------------------------------------------ parser
def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m trainer", description=__doc__.splitlines()[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--root", default=str(ROOT), help=argparse.SUPPRESS)
    sub = ap.add_subparsers(dest="command", required=True)

    p = sub.add_parser("collect", help="operators' corrections (+ uncertain tickets) → a review file")
    p.add_argument("--url", help="routing backend (default $ROUTING_URL)")
    p.add_argument("--token", help="operator/supervisor token (default $TRAINER_ROUTING_TOKEN, $ROUTING_TOKEN)")
    p.add_argument("--since", help="only candidates created since (ISO 8601)")
    p.add_argument("--uncertain", type=int, default=0, help="add the N recent tickets the model is least sure about")
    p.add_argument("--recent", type=int, default=200, help="how many recent tickets to consider for --uncertain")
    p.add_argument("--model", help="model that fills the answers (default: the served model)")
    p.add_argument("--no-model", action="store_true", help="keep the answers the backend recorded")
    p.add_argument("--out", help="review file (default reports/trainer/review-<time>.yml)")
    p.set_defaults(func=cmd_collect)

    p = sub.add_parser("merge", help="reviewed rows → nlu_data/, refusing duplicates, conflicts, unknown intents")
    p.add_argument("review")
    p.add_argument("--dry-run", action="store_true")
    p.add_argument("--skip-refused", action="store_true", help="write the accepted rows even if others are refused")
    p.add_argument("--near", type=float, default=0.8, help="near-duplicate threshold (char-bigram Jaccard)")
    p.add_argument("--allow-realtext", action="store_true", help="allow real messages word for word")
    p.set_defaults(func=cmd_merge)

    p = sub.add_parser("check", help="rasa data validate, catalogue checks, data report (reports/data/)")
    p.add_argument("--no-rasa", action="store_true", help="skip rasa data validate and catalog_sync --check")
    p.add_argument("--min-count", type=int, default=2, help="min. merged examples a suggested word occurs in")
    p.add_argument("--out")
    p.set_defaults(func=cmd_check)

    for name, func, text in (("train", cmd_train, "train a candidate model (models/candidates/), then compare"),
                             ("compare", cmd_compare, "compare the candidate with the served model")):
        p = sub.add_parser(name, help=text)
        if name == "train":
            p.add_argument("--force", action="store_true", help="retrain even if a model for this data exists")
            p.add_argument("--no-compare", action="store_true")
        p.add_argument("--candidate", help="default: the newest models/candidates/*.tar.gz")
        p.add_argument("--current", help="default: models/current, else the newest models/model-*.tar.gz")
        p.add_argument("--tol-macro", type=float, default=float(os.environ.get("TRAINER_TOL_MACRO", 0.01)))
        p.add_argument("--tol-intent", type=float, default=float(os.environ.get("TRAINER_TOL_INTENT", 0.05)))
        p.add_argument("--tol-entity", type=float, default=float(os.environ.get("TRAINER_TOL_ENTITY", 0.05)))
        p.add_argument("--no-realtext", action="store_true", help="skip the real-message domain set")
        p.add_argument("--out")
        p.set_defaults(func=func)

    for name, func, text in (("promote", cmd_promote, "make the compared candidate the served model"),
                             ("rollback", cmd_rollback, "serve the previous model again")):
        p = sub.add_parser(name, help=text)
        if name == "promote":
            p.add_argument("--candidate", help="default: the candidate of the last comparison")
            p.add_argument("--force", action="store_true", help="promote despite a BLOCK / missing verdict")
            p.add_argument("--compare", help="compare.json (default reports/trainer/compare/compare.json)")
        p.add_argument("--no-reload", action="store_true", help="do not tell the rasa server")
        p.add_argument("--rasa-url", help="default $RASA_URL")
        p.set_defaults(func=func)

    p = sub.add_parser("prelabel", help="unlabelled messages → a review file with the model's top types")
    p.add_argument("--input", help=f"CSV (default {REALTEXT_CSV})")
    p.add_argument("--limit", type=int, default=200)
    p.add_argument("--offset", type=int, default=0)
    p.add_argument("--min-confidence", type=float, default=0.25)
    p.add_argument("--model")
    p.add_argument("--out", help="default reports/prelabel/prelabel-<time>.yml")
    p.add_argument("--include-dev", action="store_true",
                   help="keep the real-text dev set's messages (left out by default: never train on them)")
    p.set_defaults(func=cmd_prelabel)

    p = sub.add_parser("status", help="served, previous and candidate models, last promotions")
    p.set_defaults(func=cmd_status)
    return ap


def main(argv: Optional[List[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)
