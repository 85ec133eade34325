"""compare: a damaged candidate gets a BLOCK verdict; promote obeys it, switches models/current,
keeps the previous one, tells a (fake) rasa server; rollback restores."""
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.trainer.trainer_fixtures import report
from trainer.compare import Tolerances, compare_reports, write_compare
from trainer.promote import PromoteError, RasaServer, linked, promote, rollback, served_model

GOOD = {"noise_pollution": 0.90, "wage_arrears": 0.85, "greet": 1.0}


def _preds(wrong: int):
    """Held-out predictions: `wrong` wage_arrears examples predicted as noise_pollution."""
    rows = [{"example": f"w{i}", "gold": "wage_arrears", "predicted": "noise_pollution" if i < wrong else "wage_arrears",
             "confidence": 0.5} for i in range(10)]
    return rows + [{"example": "n", "gold": "noise_pollution", "predicted": "greet", "confidence": 0.4}]


def test_damaged_candidate_is_blocked(tmp_path):
    current = report(GOOD, predictions=_preds(1), model="current.tar.gz")
    damaged = report({**GOOD, "wage_arrears": 0.60}, {"location": 0.8, "party": 0.5},
                     predictions=_preds(4), model="candidate.tar.gz")
    result = compare_reports(current, damaged)
    assert result["verdict"] == "BLOCK"
    text = " ".join(result["blocking"])
    assert "wage_arrears" in text and "macro-F1" in text and "entity 'party'" in text
    assert result["newly_confused"] == [{"gold": "wage_arrears", "predicted": "noise_pollution",
                                         "current": 1, "candidate": 4}]
    assert result["fixed_confusions"] == []
    md, js, png = write_compare(result, tmp_path / "cmp", tmp_path / "cur.tar.gz", tmp_path / "cand.tar.gz")
    assert "verdict: **BLOCK**" in md.read_text(encoding="utf-8")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert json.loads(js.read_text(encoding="utf-8"))["candidate_path"].endswith("cand.tar.gz")


def test_small_changes_within_tolerance_pass_and_tolerances_are_configurable():
    current = report(GOOD)
    candidate = report({**GOOD, "wage_arrears": 0.82, "noise_pollution": 0.95})
    assert compare_reports(current, candidate)["verdict"] == "PASS"
    strict = compare_reports(current, candidate, Tolerances(macro=0.01, intent=0.02, entity=0.05))
    assert strict["verdict"] == "BLOCK" and "wage_arrears" in strict["blocking"][0]


def test_new_intent_in_candidate_is_a_note_not_a_block():
    result = compare_reports(report(GOOD), report({**GOOD, "street_lights": 0.9}))
    assert result["verdict"] == "PASS" and any("street_lights" in n for n in result["notes"])


# ------------------------------------------------------------------------------ promote
class FakeRasa:
    """A tiny HTTP server recording PUT /model requests."""

    def __init__(self, status: int = 204):
        self.requests = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_PUT(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                fake.requests.append((self.path, json.loads(body)))
                self.send_response(status)
                self.end_headers()
                if status >= 400:
                    self.wfile.write(b'{"message": "cannot load"}')

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def _models(tmp_path):
    models = tmp_path / "models"
    (models / "candidates").mkdir(parents=True)
    old = models / "model-old.tar.gz"
    old.write_bytes(b"old")
    cand = models / "candidates" / "candidate-new.tar.gz"
    cand.write_bytes(b"new")
    return models, old, cand


def _verdict(path: Path, candidate: Path, current: Path, verdict: str = "PASS"):
    path.write_text(json.dumps({"verdict": verdict, "blocking": [] if verdict == "PASS" else ["intent 'x' F1 …"],
                                "candidate_path": str(candidate.resolve()), "current_path": str(current.resolve())}))


def test_promote_requires_a_pass_verdict_then_reloads_and_rolls_back(tmp_path):
    models, old, cand = _models(tmp_path)
    verdict = tmp_path / "compare.json"
    assert served_model(models) == old.resolve()
    with FakeRasa() as rasa:
        server = RasaServer(rasa.url, token="s3cret")
        with pytest.raises(PromoteError, match="no comparison"):
            promote(cand, models, verdict, server)
        _verdict(verdict, cand, old, "BLOCK")
        with pytest.raises(PromoteError, match="verdict is BLOCK"):
            promote(cand, models, verdict, server)
        assert linked(models, "current") is None and rasa.requests == []

        _verdict(verdict, cand, old, "PASS")
        message = promote(cand, models, verdict, server)
        assert "loaded candidate-new.tar.gz" in message
        assert linked(models, "current") == cand.resolve() and linked(models, "previous") == old.resolve()
        assert served_model(models) == cand.resolve()
        assert rasa.requests == [("/model?token=s3cret", {"model_file": str(cand.resolve())})]
        assert not Path(models / "current").readlink().is_absolute()  # relative: the tree can move

        message = rollback(models, server)
        assert "rolled back to model-old.tar.gz" in message
        assert linked(models, "current") == old.resolve() and linked(models, "previous") == cand.resolve()
        assert rasa.requests[-1][1] == {"model_file": str(old.resolve())}
    history = json.loads((models / "history.json").read_text())
    assert [h["action"] for h in history] == ["promote", "rollback"]


def test_force_overrides_a_block_and_is_recorded(tmp_path):
    models, old, cand = _models(tmp_path)
    verdict = tmp_path / "compare.json"
    _verdict(verdict, cand, old, "BLOCK")
    promote(cand, models, verdict, None, force=True)
    assert linked(models, "current") == cand.resolve()
    entry = json.loads((models / "history.json").read_text())[-1]
    assert entry["forced"] is True and entry["overridden"]


def test_verdict_for_another_candidate_or_against_another_current_is_refused(tmp_path):
    models, old, cand = _models(tmp_path)
    other = models / "candidates" / "candidate-other.tar.gz"
    other.write_bytes(b"x")
    verdict = tmp_path / "compare.json"
    _verdict(verdict, other, old)
    with pytest.raises(PromoteError, match="last comparison was of"):
        promote(cand, models, verdict, None)
    newer = models / "model-newer.tar.gz"
    newer.write_bytes(b"n")
    import os
    os.utime(newer, (old.stat().st_mtime + 10, old.stat().st_mtime + 10))
    _verdict(verdict, cand, old)
    with pytest.raises(PromoteError, match="compare again"):
        promote(cand, models, verdict, None)


def test_server_error_restores_the_links(tmp_path):
    models, old, cand = _models(tmp_path)
    verdict = tmp_path / "compare.json"
    _verdict(verdict, cand, old)
    with FakeRasa(status=500) as rasa:
        with pytest.raises(PromoteError, match="restored"):
            promote(cand, models, verdict, RasaServer(rasa.url))
    assert linked(models, "current") is None and linked(models, "previous") is None
    assert served_model(models) == old.resolve()


def test_no_running_server_still_promotes(tmp_path):
    import socket

    models, old, cand = _models(tmp_path)
    verdict = tmp_path / "compare.json"
    _verdict(verdict, cand, old)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    message = promote(cand, models, verdict, RasaServer(f"http://127.0.0.1:{port}"))
    assert "no rasa server answered" in message and linked(models, "current") == cand.resolve()


def test_rollback_without_previous_is_refused(tmp_path):
    models, _, _ = _models(tmp_path)
    with pytest.raises(PromoteError, match="nothing to roll back"):
        rollback(models, None)
