"""Local stand-ins for the Telegram Bot API and the Twilio REST API, and an action-server proxy.

Each is a real HTTP server on a free port in a thread of the test process, recording what it was
sent. `wait_for` polls a condition with a hang guard only (it returns as soon as it holds).
"""
from __future__ import annotations

import base64
import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Dict, List, Optional, Tuple
from urllib.parse import parse_qs, unquote, urlparse

import httpx

HANG_GUARD = 60.0


def wait_for(condition: Callable[[], Any], timeout: float = HANG_GUARD, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


class _Server:
    """A ThreadingHTTPServer whose handler calls `self.handle(method, path, headers, body)`."""

    def __init__(self) -> None:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self, method: str) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                status, headers, payload = outer.handle(method, self.path, dict(self.headers), body)
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def do_GET(self) -> None:  # noqa: N802
                self._serve("GET")

            def do_POST(self) -> None:  # noqa: N802
                self._serve("POST")

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def start(self) -> "_Server":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def handle(self, method: str, path: str, headers: Dict[str, str], body: bytes) -> Tuple[int, Dict[str, str], bytes]:
        raise NotImplementedError


def _json(status: int, data: Any) -> Tuple[int, Dict[str, str], bytes]:
    return status, {"Content-Type": "application/json"}, json.dumps(data, ensure_ascii=False).encode("utf-8")


def _form(headers: Dict[str, str], body: bytes) -> Dict[str, Any]:
    ctype = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
    if "json" in ctype:
        return json.loads(body or b"{}")
    parsed = parse_qs(body.decode("utf-8"), keep_blank_values=True)
    out: Dict[str, Any] = {}
    for key, values in parsed.items():
        value = values[0]
        if key in ("reply_markup", "allowed_updates") or value[:1] in "[{":
            try:
                value = json.loads(value)
            except ValueError:
                pass
        out[key] = value
    return out


@dataclass
class Call:
    method: str
    params: Dict[str, Any]
    token: str


class FakeTelegram(_Server):
    """The Bot API subset the channel and the notifier use. Records every call; `updates` feeds
    getUpdates; `fail_chats` makes sendMessage to those chats fail like a blocked bot."""

    BOT_ID = 7000000001

    def __init__(self, token: str) -> None:
        super().__init__()
        self.token = token
        self.calls: List[Call] = []
        self.lock = threading.Condition()
        self.updates: List[Dict[str, Any]] = []
        self.fail_chats: set = set()
        self.files: Dict[str, bytes] = {}
        self.webhook: Dict[str, Any] = {}
        self._message_id = 1000

    # helpers for tests
    def sent(self, method: Optional[str] = None, chat_id: Any = None) -> List[Call]:
        with self.lock:
            calls = list(self.calls)
        return [c for c in calls if (method is None or c.method == method)
                and (chat_id is None or str(c.params.get("chat_id")) == str(chat_id))]

    def clear(self) -> None:
        with self.lock:
            self.calls.clear()

    def queue_update(self, update: Dict[str, Any]) -> None:
        with self.lock:
            self.updates.append(update)
            self.lock.notify_all()

    def _message(self, chat_id: Any, text: Optional[str] = None, **extra: Any) -> Dict[str, Any]:
        self._message_id += 1
        msg = {"message_id": self._message_id, "date": int(time.time()),
               "chat": {"id": int(chat_id), "type": "private"},
               "from": {"id": self.BOT_ID, "is_bot": True, "first_name": "Test bot"}}
        if text is not None:
            msg["text"] = text
        msg.update(extra)
        return msg

    def handle(self, method: str, path: str, headers: Dict[str, str], body: bytes):
        parts = unquote(urlparse(path).path).strip("/").split("/")
        if parts[0] == "file" and len(parts) >= 3:  # /file/bot<token>/<path>
            if parts[1] != f"bot{self.token}":
                return _json(401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
            data = self.files.get("/".join(parts[2:]))
            if data is None:
                return _json(404, {"ok": False, "error_code": 404, "description": "Not Found"})
            return 200, {"Content-Type": "application/octet-stream"}, data
        if len(parts) != 2 or not parts[0].startswith("bot"):
            return _json(404, {"ok": False, "error_code": 404, "description": "Not Found"})
        token, api_method = parts[0][3:], parts[1]
        params = _form(headers, body)
        if token != self.token:
            return _json(401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
        if api_method != "getUpdates":
            with self.lock:
                self.calls.append(Call(api_method, params, token))
                self.lock.notify_all()
        return self._answer(api_method, params)

    def _answer(self, api_method: str, p: Dict[str, Any]):
        ok = lambda result: _json(200, {"ok": True, "result": result})  # noqa: E731
        if api_method == "getMe":
            return ok({"id": self.BOT_ID, "is_bot": True, "first_name": "Test bot", "username": "petition_test_bot",
                       "can_join_groups": False, "can_read_all_group_messages": False,
                       "supports_inline_queries": False})
        if api_method == "sendMessage":
            if str(p.get("chat_id")) in {str(c) for c in self.fail_chats}:
                return _json(403, {"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked by the user"})
            extra = {"reply_markup": p["reply_markup"]} if p.get("reply_markup") else {}
            return ok(self._message(p["chat_id"], p.get("text"), **extra))
        if api_method in ("sendPhoto", "sendDocument", "sendLocation"):
            return ok(self._message(p["chat_id"], caption=p.get("caption")) if p.get("caption")
                      else self._message(p["chat_id"]))
        if api_method == "editMessageText":
            return ok(self._message(p["chat_id"], p.get("text")))
        if api_method in ("answerCallbackQuery", "editMessageReplyMarkup", "sendChatAction"):
            return ok(True)
        if api_method == "setWebhook":
            self.webhook = dict(p)
            return ok(True)
        if api_method == "deleteWebhook":
            self.webhook = {}
            return ok(True)
        if api_method == "getWebhookInfo":
            return ok({"url": self.webhook.get("url", ""), "has_custom_certificate": False,
                       "pending_update_count": len(self.updates)})
        if api_method == "getFile":
            file_id = p.get("file_id")
            path = f"documents/{file_id}.bin"
            data = self.files.get(path)
            if data is None:
                return _json(400, {"ok": False, "error_code": 400, "description": "Bad Request: invalid file_id"})
            return ok({"file_id": file_id, "file_unique_id": f"u{file_id}", "file_size": len(data), "file_path": path})
        if api_method == "getUpdates":
            return ok(self._get_updates(p))
        return _json(404, {"ok": False, "error_code": 404, "description": f"Not Found: method {api_method}"})

    def _get_updates(self, p: Dict[str, Any]) -> List[Dict[str, Any]]:
        offset = int(p.get("offset") or 0)
        wait = min(float(p.get("timeout") or 0), 2.0)
        with self.lock:
            self.updates = [u for u in self.updates if u["update_id"] >= offset]
            if not self.updates and wait > 0:
                self.lock.wait(wait)
                self.updates = [u for u in self.updates if u["update_id"] >= offset]
            return list(self.updates)


class FakeTwilioRest(_Server):
    """POST /2010-04-01/Accounts/<sid>/Messages.json with basic auth; records the messages.
    Numbers in `fail_numbers` get Twilio's error 21610 (unsubscribed recipient)."""

    def __init__(self, account_sid: str, auth_token: str) -> None:
        super().__init__()
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.messages: List[Dict[str, Any]] = []
        self.fail_numbers: set = set()
        self.lock = threading.Lock()

    def sent_to(self, number: str) -> List[Dict[str, Any]]:
        with self.lock:
            return [m for m in self.messages if m.get("To") == number]

    def handle(self, method: str, path: str, headers: Dict[str, str], body: bytes):
        auth = next((v for k, v in headers.items() if k.lower() == "authorization"), "")
        expected = "Basic " + base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        if auth != expected:
            return _json(401, {"code": 20003, "message": "Authenticate", "status": 401})
        if method != "POST" or not path.startswith(f"/2010-04-01/Accounts/{self.account_sid}/Messages.json"):
            return _json(404, {"code": 20404, "message": "not found", "status": 404})
        form = {k: v[0] for k, v in parse_qs(body.decode("utf-8")).items()}
        if form.get("To") in self.fail_numbers:
            return _json(400, {"code": 21610, "message": "Attempt to send to unsubscribed recipient", "status": 400})
        with self.lock:
            self.messages.append(form)
            n = len(self.messages)
        return _json(201, {"sid": f"SM{n:032d}", "account_sid": self.account_sid, "to": form.get("To"),
                           "from": form.get("From"), "body": form.get("Body"), "status": "queued",
                           "num_segments": "1", "direction": "outbound-api",
                           "uri": f"/2010-04-01/Accounts/{self.account_sid}/Messages/SM{n:032d}.json"})


class ActionProxy(_Server):
    """Forwards every action-server call to the real action server, then appends the extra bot
    messages a test registered for that conversation (`extras[sender_id]`, used once, on the next
    action call of that conversation): a way to make the
    real bot send buttons, images or custom JSON through every channel without editing the
    domain. Conversations without extras get exactly what the real actions answered."""

    def __init__(self, target: str) -> None:
        super().__init__()
        self.target = target.rstrip("/")
        self.extras: Dict[str, List[Dict[str, Any]]] = {}
        self.client = httpx.Client(timeout=60)

    def handle(self, method: str, path: str, headers: Dict[str, str], body: bytes):
        if method == "GET":
            r = self.client.get(self.target + path)
            return r.status_code, {"Content-Type": r.headers.get("content-type", "application/json")}, r.content
        r = self.client.post(self.target + path, content=body, headers={"Content-Type": "application/json"})
        if r.status_code != 200:
            return r.status_code, {"Content-Type": "application/json"}, r.content
        answer = r.json()
        request = json.loads(body or b"{}")
        sender = (request.get("tracker") or {}).get("sender_id")
        extra = self.extras.pop(sender, None)  # once: the first action call of the turn
        if extra:
            answer.setdefault("responses", []).extend(extra)
        return _json(200, answer)
