"""Command line: `python -m routing.cli COMMAND`.

  migrate            alembic upgrade head, then seed the data files
  seed               load routing/data/*.yml (idempotent)
  create-token       --role intake|operator|staff|supervisor [--department CODE] [--name NAME]
  escalate-overdue   escalate every overdue open ticket one level up
  stats              [--from ISO] [--to ISO] [--period day|week|month] — JSON on stdout
  serve              run the HTTP server (same as `python -m routing`)
  import-transcripts PATH… [--server [URL] --token T] [--json] — hotline transcripts → drafts
                     awaiting review (routing/triage/batch.py); exit 1 if some failed, 2 if aborted
  export-candidates  [--format json|csv] [--field F] [--all] [--out FILE] — operators' corrections
  create-user        --username U --role operator|staff|supervisor [--department CODE]
                     [--display-name N] [--password-stdin] — a console login (password asked if
                     not piped)
"""
from __future__ import annotations

import argparse
import json
import sys
from typing import List, Optional

from routing.db import make_engine, make_session_factory, session_scope
from routing.settings import ROLES, Settings, SettingsError, get_settings


def _factory(settings: Settings):  # type: ignore[no-untyped-def]
    return make_session_factory(make_engine(settings.database_url))


def cmd_migrate(settings: Settings, args: argparse.Namespace) -> int:
    from routing.migrate import upgrade

    upgrade(settings.database_url)
    print(f"migrated {settings.database_url.split('@')[-1]}")
    return cmd_seed(settings, args)


def cmd_seed(settings: Settings, args: argparse.Namespace) -> int:
    from routing.seed import seed_all

    with session_scope(_factory(settings)) as session:
        report = seed_all(session)
    print(json.dumps({"seeded": report.as_dict()}, ensure_ascii=False))
    return 0


def cmd_create_token(settings: Settings, args: argparse.Namespace) -> int:
    from routing.auth import create_token

    with session_scope(_factory(settings)) as session:
        token = create_token(session, args.role, args.department, args.name)
    print(token)
    return 0


def cmd_escalate(settings: Settings, args: argparse.Namespace) -> int:
    from routing.escalation import escalate_overdue

    numbers = escalate_overdue(_factory(settings), settings)
    print(json.dumps({"escalated": numbers}, ensure_ascii=False))
    return 0


def cmd_stats(settings: Settings, args: argparse.Namespace) -> int:
    from routing.stats import compute_stats
    from routing.timeutil import parse_iso

    start = parse_iso(args.start) if args.start else None
    end = parse_iso(args.end) if args.end else None
    with session_scope(_factory(settings)) as session:
        result = compute_stats(session, start, end, args.period)
    print(json.dumps(result, ensure_ascii=False, indent=2))
    return 0


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    from routing.__main__ import serve

    return serve(settings, migrate=not args.no_migrate)


def cmd_import_transcripts(settings: Settings, args: argparse.Namespace) -> int:
    from routing.triage.batch import main as import_main

    return import_main(args.paths, args.server, args.token, settings, args.json)


def cmd_export_candidates(settings: Settings, args: argparse.Namespace) -> int:
    from routing.triage.candidates import query_candidates, to_csv, to_json

    with session_scope(_factory(settings)) as session:
        rows, _ = query_candidates(session, args.field, include_superseded=args.all)
        text = to_csv(rows, bom=bool(args.out)) if args.format == "csv" else to_json(rows)
    if args.out:
        with open(args.out, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
        print(f"{len(rows)} candidates → {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(text + ("" if text.endswith("\n") else "\n"))
    return 0


def cmd_create_user(settings: Settings, args: argparse.Namespace) -> int:
    import getpass

    from routing.console.auth import create_user

    if args.password_stdin or not sys.stdin.isatty():
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass("密码 / password: ")
        if getpass.getpass("再输一次 / again: ") != password:
            print("error: 两次密码不一致 / passwords differ", file=sys.stderr)
            return 1
    with session_scope(_factory(settings)) as session:
        user = create_user(session, args.username, password, args.role, args.department, args.display_name)
        print(f"created console user {user.username} ({user.role})")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m routing.cli", description="routing backend")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("migrate", help="alembic upgrade head + seed").set_defaults(func=cmd_migrate)
    sub.add_parser("seed", help="load routing/data/*.yml").set_defaults(func=cmd_seed)
    tok = sub.add_parser("create-token", help="create an API token and print it once")
    tok.add_argument("--role", required=True, choices=ROLES)
    tok.add_argument("--department", help="department code (required for staff)")
    tok.add_argument("--name", help="a label for the token")
    tok.set_defaults(func=cmd_create_token)
    sub.add_parser("escalate-overdue", help="escalate overdue tickets").set_defaults(func=cmd_escalate)
    st = sub.add_parser("stats", help="statistics as JSON")
    st.add_argument("--from", dest="start")
    st.add_argument("--to", dest="end")
    st.add_argument("--period", default="day", choices=("day", "week", "month"))
    st.set_defaults(func=cmd_stats)
    sv = sub.add_parser("serve", help="run the HTTP server")
    sv.add_argument("--no-migrate", action="store_true", help="do not migrate and seed first")
    sv.set_defaults(func=cmd_serve)
    imp = sub.add_parser("import-transcripts", help="hotline transcripts (files or folders) → drafts awaiting review")
    imp.add_argument("paths", nargs="+", metavar="PATH", help="transcript files (.txt, .json, .jsonl, .csv) or folders")
    imp.add_argument("--server", nargs="?", const="", default=None, metavar="URL",
                     help="go through a running backend (default URL: ROUTING_URL or http://127.0.0.1:8000)")
    imp.add_argument("--token", help="API token for --server (default: ROUTING_TOKEN)")
    imp.add_argument("--json", action="store_true", help="print the summary as JSON")
    imp.set_defaults(func=cmd_import_transcripts)
    exp = sub.add_parser("export-candidates", help="training candidates (operators' corrections)")
    exp.add_argument("--format", default="json", choices=("json", "csv"))
    exp.add_argument("--field", choices=("event_type", "location", "party"))
    exp.add_argument("--all", action="store_true", help="include superseded candidates")
    exp.add_argument("--out", help="write to this file instead of stdout")
    exp.set_defaults(func=cmd_export_candidates)
    usr = sub.add_parser("create-user", help="create or update a console login")
    usr.add_argument("--username", required=True)
    usr.add_argument("--role", required=True, choices=("operator", "staff", "supervisor"))
    usr.add_argument("--department", help="department code (required for staff)")
    usr.add_argument("--display-name", help="the name shown in the console and the history")
    usr.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    usr.set_defaults(func=cmd_create_user)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = get_settings()
        settings.check()
        return int(args.func(settings, args))
    except SettingsError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # a clean message, not a traceback, for expected failures
        from routing.errors import ServiceError
        from routing.seed import SeedError

        if isinstance(exc, (ServiceError, SeedError)):
            print(f"error: {getattr(exc, 'message', exc)}", file=sys.stderr)
            return 1
        raise


if __name__ == "__main__":
    sys.exit(main())
