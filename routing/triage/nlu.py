"""The NLU client: the rasa server's `POST /model/parse` over HTTP.

    RASA_URL          where the rasa server listens (default http://127.0.0.1:$RASA_PORT, 5005)
    RASA_TIMEOUT      seconds for one parse (default 10; connecting gets at most 3)
    TRIAGE_LOW_CONFIDENCE   below this the prediction is flagged and not put on the draft (0.5)

`parse()` raises :class:`NLUUnavailable` when the server cannot be reached or does not answer in
time (the message says how to start it), and :class:`NLUError` for an answer that is not a
parse result. Nothing here retries: the caller decides (the batch import stops, the console shows
the message and keeps the pasted text).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Tuple

import httpx

DEFAULT_RASA_URL = "http://127.0.0.1:5005"
DEFAULT_TIMEOUT = 10.0
DEFAULT_LOW_CONFIDENCE = 0.5
FALLBACK_INTENTS = ("nlu_fallback",)


class NLUError(RuntimeError):
    """The NLU answered, but not with a parse result."""

    code = "nlu_error"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class NLUUnavailable(NLUError):
    """The NLU server is down, unreachable or too slow."""

    code = "nlu_unavailable"


@dataclass
class Entity:
    entity: str
    value: str
    start: Optional[int] = None
    end: Optional[int] = None
    confidence: Optional[float] = None
    extractor: Optional[str] = None
    division: Optional[Dict[str, Any]] = None

    def as_dict(self) -> Dict[str, Any]:
        out: Dict[str, Any] = {"entity": self.entity, "value": self.value, "start": self.start, "end": self.end}
        if self.confidence is not None:
            out["confidence"] = self.confidence
        if self.extractor:
            out["extractor"] = self.extractor
        if self.division:
            out["division"] = self.division
        return out


@dataclass
class ParseResult:
    intent: Optional[str]
    confidence: float
    ranking: List[Tuple[str, float]]
    entities: List[Entity]
    text: str  # the text the model worked on (normalised by the pipeline); entity offsets refer to it
    original_text: str
    location_resolution: Optional[Dict[str, Any]] = None
    raw: Dict[str, Any] = field(default_factory=dict)

    def entities_of(self, kind: str) -> List[Entity]:
        return [e for e in self.entities if e.entity == kind]

    def as_dict(self) -> Dict[str, Any]:
        return {
            "intent": self.intent, "confidence": self.confidence,
            "intent_ranking": [{"name": n, "confidence": c} for n, c in self.ranking],
            "entities": [e.as_dict() for e in self.entities], "text": self.text,
            "original_text": self.original_text, "location_resolution": self.location_resolution,
        }


def _float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


def parse_response(body: Any, sent: str) -> ParseResult:
    """A rasa `/model/parse` answer → :class:`ParseResult` (tolerant of missing parts)."""
    if not isinstance(body, dict):
        raise NLUError("NLU 返回的不是 JSON 对象 / the NLU answer is not a JSON object")
    intent = body.get("intent") or {}
    if not isinstance(intent, dict):
        raise NLUError("NLU 返回中 intent 格式错误 / malformed intent in the NLU answer")
    ranking: List[Tuple[str, float]] = []
    for item in body.get("intent_ranking") or []:
        if isinstance(item, dict) and item.get("name"):
            ranking.append((str(item["name"]), _float(item.get("confidence"))))
    name = intent.get("name")
    if not ranking and name:
        ranking = [(str(name), _float(intent.get("confidence")))]
    text = body.get("text") if isinstance(body.get("text"), str) else sent
    entities: List[Entity] = []
    for e in body.get("entities") or []:
        if not isinstance(e, dict) or not e.get("entity"):
            continue
        value = e.get("value")
        start, end = e.get("start"), e.get("end")
        if value is None and isinstance(start, int) and isinstance(end, int):
            value = text[start:end]
        if value is None:
            continue
        entities.append(Entity(
            entity=str(e["entity"]), value=str(value),
            start=start if isinstance(start, int) else None, end=end if isinstance(end, int) else None,
            confidence=_float(e["confidence_entity"]) if e.get("confidence_entity") is not None else None,
            extractor=e.get("extractor"), division=e.get("division") if isinstance(e.get("division"), dict) else None,
        ))
    resolution = body.get("location_resolution")
    return ParseResult(
        intent=str(name) if name else None, confidence=_float(intent.get("confidence")), ranking=ranking,
        entities=entities, text=text, original_text=str(body.get("original_text") or sent),
        location_resolution=resolution if isinstance(resolution, dict) else None, raw=body,
    )


class NLUClient:
    def __init__(self, base_url: Optional[str] = None, timeout: Optional[float] = None,
                 transport: Optional[httpx.BaseTransport] = None):
        env = os.environ
        port = (env.get("RASA_PORT") or "").strip()
        default = f"http://127.0.0.1:{port}" if port.isdigit() else DEFAULT_RASA_URL
        self.base_url = (base_url or env.get("RASA_URL") or default).rstrip("/")
        self.timeout = timeout if timeout is not None else _env_float(env, "RASA_TIMEOUT", DEFAULT_TIMEOUT)
        self._transport = transport

    def _client(self) -> httpx.Client:
        timeout = httpx.Timeout(self.timeout, connect=min(3.0, self.timeout))
        return httpx.Client(base_url=self.base_url, timeout=timeout, transport=self._transport)

    def parse(self, text: str) -> ParseResult:
        url = f"{self.base_url}/model/parse"
        try:
            with self._client() as client:
                response = client.post("/model/parse", json={"text": text})
        except httpx.TimeoutException:
            raise NLUUnavailable(
                f"NLU 服务超时（{self.timeout:g} 秒内无应答：{url}）/ the NLU server did not answer in time "
                "(RASA_TIMEOUT)") from None
        except httpx.HTTPError as exc:
            raise NLUUnavailable(
                f"NLU 服务不可用：无法连接 {url}（请先启动 rasa server，如 `make run`，或设置 RASA_URL）"
                f"/ the NLU server is not reachable: {type(exc).__name__}") from None
        if response.status_code != 200:
            snippet = response.text[:200].replace("\n", " ")
            if response.status_code in (502, 503, 504):
                raise NLUUnavailable(f"NLU 服务暂不可用（HTTP {response.status_code}）/ NLU unavailable: {snippet}")
            raise NLUError(f"NLU 服务返回 HTTP {response.status_code}：{snippet} / NLU error")
        try:
            body = response.json()
        except ValueError:
            raise NLUError("NLU 返回的不是 JSON / the NLU answer is not JSON") from None
        return parse_response(body, text)

    def status(self) -> bool:
        """Whether the server answers at all (GET /)."""
        try:
            with self._client() as client:
                return client.get("/").status_code < 500
        except httpx.HTTPError:
            return False


def _env_float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        return float(raw)
    except ValueError:
        return default


def low_confidence_threshold() -> float:
    return _env_float(os.environ, "TRIAGE_LOW_CONFIDENCE", DEFAULT_LOW_CONFIDENCE)
