"""Promote a compared candidate to the served model, and roll back.

  models/current    symlink → the served model file (`make run` serves it when it exists)
  models/previous   symlink → the model served before (what `rollback` restores)
  models/history.json  every promotion / rollback: model, when, verdict, forced

`promote` refuses a candidate unless reports/trainer/compare/compare.json holds a PASS verdict for
exactly that candidate against the model that is current now (--force overrides, and is recorded).
After switching the links, a running rasa server is told to load the model through its HTTP API
(PUT /model {"model_file": <absolute path>}, RASA_URL, optional RASA_TOKEN as ?token=): no restart.
When no server answers, the links stay switched and the next `make run` serves the model; when the
server answers with an error, the links are switched back and promote fails.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional

import httpx

from trainer.review import now_iso


class PromoteError(RuntimeError):
    pass


class ReloadError(RuntimeError):
    pass


@dataclass
class ReloadResult:
    reloaded: bool
    message: str


class RasaServer:
    """A running rasa server's model endpoint."""

    def __init__(self, url: str, token: Optional[str] = None, timeout: float = 300.0):
        self.url = url.rstrip("/")
        self.token = token
        self.timeout = timeout

    def reload(self, model: Path) -> ReloadResult:
        params = {"token": self.token} if self.token else None
        try:
            response = httpx.put(f"{self.url}/model", json={"model_file": str(Path(model).resolve())},
                                 params=params, timeout=self.timeout)
        except httpx.ConnectError:
            return ReloadResult(False, f"no rasa server answered at {self.url}: the model is served from "
                                       f"the next `make run`")
        except httpx.HTTPError as exc:
            raise ReloadError(f"rasa server {self.url}: {exc}") from None
        if response.status_code >= 400:
            raise ReloadError(f"rasa server {self.url} refused the model: {response.status_code} "
                              f"{response.text[:300]}")
        return ReloadResult(True, f"rasa server {self.url} loaded {Path(model).name}")


def _link(models_dir: Path, name: str) -> Path:
    return Path(models_dir) / name


def linked(models_dir: Path, name: str) -> Optional[Path]:
    link = _link(models_dir, name)
    if link.is_symlink() or link.exists():
        target = link.resolve()
        return target if target.exists() else None
    return None


def served_model(models_dir: Path) -> Optional[Path]:
    """The model `make run` serves: models/current, else the newest models/model-*.tar.gz."""
    current = linked(models_dir, "current")
    if current is not None:
        return current
    models = sorted(Path(models_dir).glob("model-*.tar.gz"), key=lambda p: p.stat().st_mtime)
    return models[-1].resolve() if models else None


def _set_link(models_dir: Path, name: str, target: Optional[Path]) -> None:
    link = _link(models_dir, name)
    if target is None:
        if link.is_symlink():
            link.unlink()
        return
    tmp = link.with_name(f".{name}.tmp")
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()
    os.symlink(os.path.relpath(Path(target).resolve(), Path(models_dir).resolve()), tmp)
    os.replace(tmp, link)


def _history(models_dir: Path) -> List[Dict]:
    path = Path(models_dir) / "history.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else []


def _record(models_dir: Path, entry: Dict) -> None:
    history = _history(models_dir)
    history.append({"at": now_iso(), **entry})
    (Path(models_dir) / "history.json").write_text(json.dumps(history, ensure_ascii=False, indent=1),
                                                   encoding="utf-8")


def check_verdict(candidate: Path, compare_json: Path, current: Optional[Path]) -> List[str]:
    """Why the candidate may not be promoted ([] = it may)."""
    if not Path(compare_json).exists():
        return [f"no comparison found ({compare_json}): run `python -m trainer compare` first"]
    result = json.loads(Path(compare_json).read_text(encoding="utf-8"))
    problems = []
    if result.get("candidate_path") != str(Path(candidate).resolve()):
        problems.append(f"the last comparison was of {result.get('candidate_path')}, not of {Path(candidate).resolve()}")
    if current is not None and result.get("current_path") not in (None, str(Path(current).resolve())):
        problems.append(f"the last comparison was against {result.get('current_path')}, but the served model "
                        f"is now {Path(current).resolve()}: compare again")
    if result.get("verdict") != "PASS":
        problems.append(f"the comparison's verdict is {result.get('verdict')}: " + "; ".join(result.get("blocking") or []))
    return problems


def promote(candidate: Path, models_dir: Path, compare_json: Path, server: Optional[RasaServer],
            force: bool = False) -> str:
    candidate = Path(candidate).resolve()
    if not candidate.exists():
        raise PromoteError(f"no such model: {candidate}")
    current = served_model(models_dir)
    if current is not None and current == candidate:
        raise PromoteError(f"{candidate.name} is already the served model")
    problems = check_verdict(candidate, compare_json, current)
    if problems and not force:
        raise PromoteError("promotion refused:\n" + "\n".join(f"  - {p}" for p in problems) +
                           "\n(--force promotes anyway, and records that it was forced)")
    old_current, old_previous = linked(models_dir, "current"), linked(models_dir, "previous")
    _set_link(models_dir, "previous", current)
    _set_link(models_dir, "current", candidate)
    message = _reload_or_revert(models_dir, server, candidate, old_current, old_previous)
    _record(models_dir, {"action": "promote", "model": str(candidate),
                         "previous": str(current) if current else None, "forced": bool(problems and force),
                         "overridden": problems if force else [], "reload": message})
    return f"promoted {candidate.name} (previous: {current.name if current else 'none'}); {message}"


def rollback(models_dir: Path, server: Optional[RasaServer]) -> str:
    previous, current = linked(models_dir, "previous"), linked(models_dir, "current")
    if previous is None:
        raise PromoteError("nothing to roll back to: models/previous does not exist")
    _set_link(models_dir, "current", previous)
    _set_link(models_dir, "previous", current)
    message = _reload_or_revert(models_dir, server, previous, current, previous)
    _record(models_dir, {"action": "rollback", "model": str(previous),
                         "previous": str(current) if current else None, "reload": message})
    return f"rolled back to {previous.name} (models/previous is now {current.name if current else 'none'}); {message}"


def _reload_or_revert(models_dir: Path, server: Optional[RasaServer], model: Path,
                      old_current: Optional[Path], old_previous: Optional[Path]) -> str:
    if server is None:
        return "no reload requested"
    try:
        return server.reload(model).message
    except ReloadError as exc:
        _set_link(models_dir, "current", old_current)
        _set_link(models_dir, "previous", old_previous)
        raise PromoteError(f"{exc}; models/current and models/previous were restored") from None
