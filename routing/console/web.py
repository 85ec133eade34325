"""What every console page shares: the Jinja environment and its filters, `render` (flash message,
queue badges), POST → redirect with a one-shot flash cookie, the login and CSRF checks, and the
way a refusal of the service becomes a message on the page (`error_text`, `ticket_post`).
The pages themselves are in routing.console.routes and routing.console.assists.
"""
from __future__ import annotations

import hmac
import json
from datetime import datetime
from pathlib import Path
from string import Formatter
from typing import Any, Callable, Dict, Optional
from urllib.parse import quote, unquote, urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy import select
from sqlalchemy.orm import Session

from routing.console import auth as console_auth
from routing.console.queries import assist_counts, queue_counts, queues_for
from routing.console.texts import msg, name, texts
from routing.errors import NotFound, ServiceError
from routing.lifecycle import IllegalTransition
from routing.models import Department
from routing.timeutil import to_local

HERE = Path(__file__).resolve().parent
STATIC_DIR = HERE / "static"
FLASH_COOKIE = "console_flash"
# NotFound errors that are about something on the page (not the page itself): a flash, not a 404 page.
FLASH_NOT_FOUND = frozenset({"assist_task_not_found"})


def _fmt_time(value: Optional[datetime], with_seconds: bool = False) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    return to_local(value).strftime("%Y-%m-%d %H:%M:%S" if with_seconds else "%Y-%m-%d %H:%M")


def _pct(value: Optional[float]) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def _num(value: Optional[float], digits: int = 2) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


env = Environment(loader=FileSystemLoader(str(HERE / "templates")), autoescape=select_autoescape(["html"]),
                  trim_blocks=True, lstrip_blocks=True)
env.filters.update(time=_fmt_time, pct=_pct, num=_num, tojson_pretty=lambda v: json.dumps(v, ensure_ascii=False))
env.globals.update(name=name, T=texts)


def render(request: Request, template: str, login: Optional[console_auth.ConsoleLogin] = None, status: int = 200,
           session: Optional[Session] = None, **ctx: Any) -> HTMLResponse:
    flash = _read_flash(request)
    counts: Dict[str, int] = {}
    if login is not None and session is not None:
        try:
            counts = queue_counts(session, login.actor)
            counts.update(assist_counts(session, login.actor))
        except Exception:  # pragma: no cover - the badges must never break a page
            counts = {}
    actor = login.actor if login is not None else None
    html = env.get_template(template).render(
        request=request, login=login, user=login.user if login else None, actor=actor,
        csrf=login.csrf if login else "", flash=flash, counts=counts,
        queues=queues_for(actor) if actor else (), path=request.url.path, **ctx)
    response = HTMLResponse(html, status_code=status)
    if flash is not None:
        response.delete_cookie(FLASH_COOKIE, path="/")
    return response


def _read_flash(request: Request) -> Optional[Dict[str, str]]:
    raw = request.cookies.get(FLASH_COOKIE)
    if not raw:
        return None
    try:
        data = json.loads(unquote(raw))
        return {"kind": str(data.get("kind", "ok")), "text": str(data.get("text", ""))}
    except (ValueError, AttributeError):
        return None


def redirect(url: str, flash: Optional[str] = None, kind: str = "ok") -> RedirectResponse:
    response = RedirectResponse(url, status_code=303)
    if flash:
        response.set_cookie(FLASH_COOKIE, quote(json.dumps({"kind": kind, "text": flash[:500]}, ensure_ascii=False)),
                            path="/", httponly=True, samesite="lax", max_age=60)
    return response


def _safe_next(target: Optional[str]) -> str:
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def current_login(request: Request, session: Session) -> Optional[console_auth.ConsoleLogin]:
    login = console_auth.load_session(session, request.cookies.get(console_auth.COOKIE))
    return login


def to_login(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse("/login?" + urlencode({"next": target}), status_code=303)


def error_page(request: Request, login: Optional[console_auth.ConsoleLogin], session: Session, status: int,
               message: str) -> HTMLResponse:
    return render(request, "error.html", login, status=status, session=session, status_code=status, message=message)


def _csrf_ok(login: console_auth.ConsoleLogin, token: Optional[str]) -> bool:
    return bool(token) and hmac.compare_digest(str(token), login.csrf)


# ---------------------------------------------------------------------------------------- refusals
def _department_names(session: Session, codes: Any) -> str:
    codes = [str(c) for c in codes or [] if c]
    if not codes:
        return ""
    names = dict(session.execute(select(Department.code, Department.name).where(Department.code.in_(codes))).all())
    return msg("separator_list").join(names.get(c, c) for c in codes)


def error_text(session: Session, exc: Exception, context: Optional[str] = None, **values: Any) -> str:
    """A refusal of the service (routing.errors.ServiceError, IllegalTransition) as a console message.

    The text is texts.yml `errors` under `<context>_<code>` or `<code>`, its placeholders filled from
    `values` and the error's details (`{departments}`: the names of the departments in
    `details.open_assist_tasks`); without such a text, or when a placeholder is missing, the
    service's own message. The rule that refused stays the service's: only the wording is the console's.
    """
    code = getattr(exc, "code", None)
    fallback = getattr(exc, "message", None) or str(exc)
    table = texts().get("errors", {}) or {}
    template = (table.get(f"{context}_{code}") if context else None) or table.get(code or "")
    if not template:
        return fallback
    details = getattr(exc, "details", None) or {}
    fields = {f for _, f, _, _ in Formatter().parse(str(template)) if f}
    if "departments" in fields and "departments" not in values:
        values["departments"] = _department_names(session, details.get("open_assist_tasks"))
    if not fields <= {k for k, v in values.items() if v not in (None, "")}:
        return fallback
    return str(template).format(**values)


def ticket_post(request: Request, session: Session, number: str, csrf: str, work: Callable[[Any], Optional[str]],
                done: str, context: Optional[str] = None,
                values: Optional[Callable[[], Dict[str, Any]]] = None) -> Response:
    """A form on the ticket page: check the login and the CSRF token, do `work(actor)` (its return
    value is the flash message, else `done`), commit, and go back to the ticket page. A refusal of
    the service goes back too, as an error message (`error_text`; `values()` supplies its
    placeholders); an unknown ticket is a 404 page."""
    login = current_login(request, session)
    if login is None:
        return to_login(request)
    if not _csrf_ok(login, csrf):
        return error_page(request, login, session, 403, msg("stale_form"))
    url = f"/tickets/{quote(number)}"
    try:
        message = work(login.actor) or done
        session.commit()
    except NotFound as exc:
        session.rollback()
        if exc.code not in FLASH_NOT_FOUND:
            return error_page(request, login, session, 404, exc.message)
        return redirect(url, error_text(session, exc, context, **(values() if values else {})), "error")
    except (ServiceError, IllegalTransition) as exc:
        session.rollback()
        return redirect(url, error_text(session, exc, context, **(values() if values else {})), "error")
    return redirect(url, message)
