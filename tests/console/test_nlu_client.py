"""The NLU client: a parse over HTTP, and clear errors when the rasa server is down, slow or odd."""
from __future__ import annotations

import socket

import httpx
import pytest

from routing.triage.nlu import NLUClient, NLUError, NLUUnavailable, parse_response


def test_parse_against_the_fake_server(fake_nlu) -> None:  # type: ignore[no-untyped-def]
    result = NLUClient(fake_nlu.url).parse("嗯嗯，岳麓区桃子湖社区楼下烧烤店噪音太大了")
    assert result.intent == "noise_pollution" and result.confidence == pytest.approx(0.91)
    assert result.ranking[0] == ("noise_pollution", pytest.approx(0.91))
    assert [e.value for e in result.entities_of("location")] == ["岳麓区桃子湖社区"]
    assert [e.value for e in result.entities_of("party")] == ["烧烤店"]
    loc = result.entities_of("location")[0]
    assert result.text[loc.start:loc.end] == loc.value  # offsets refer to the normalised text
    assert result.location_resolution and result.location_resolution["adcode"] == "430104"
    assert fake_nlu.calls[-1].startswith("嗯嗯")  # the caller's text is sent as said


def test_default_url_comes_from_rasa_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RASA_URL", "http://127.0.0.1:1/")
    monkeypatch.setenv("RASA_TIMEOUT", "2.5")
    client = NLUClient()
    assert client.base_url == "http://127.0.0.1:1" and client.timeout == 2.5
    monkeypatch.delenv("RASA_URL")
    monkeypatch.delenv("RASA_PORT", raising=False)
    assert NLUClient().base_url == "http://127.0.0.1:5005"
    monkeypatch.setenv("RASA_PORT", "5123")  # scripts/env.sh sets it for `make run`
    assert NLUClient().base_url == "http://127.0.0.1:5123"


def test_server_down_is_a_clear_error() -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(NLUUnavailable) as info:
        NLUClient(f"http://127.0.0.1:{port}", timeout=2).parse("停水了")
    assert "无法连接" in info.value.message and str(port) in info.value.message and "RASA_URL" in info.value.message


def test_server_that_never_answers_times_out() -> None:
    with socket.socket() as s:  # accepts connections (backlog) but never answers
        s.bind(("127.0.0.1", 0))
        s.listen(5)
        port = s.getsockname()[1]
        with pytest.raises(NLUUnavailable) as info:
            NLUClient(f"http://127.0.0.1:{port}", timeout=0.5).parse("停水了")
    assert "超时" in info.value.message


@pytest.mark.parametrize("status,body,error", [
    (503, "loading model", NLUUnavailable),
    (500, "boom", NLUError),
    (200, "not json", NLUError),
    (200, '["a list"]', NLUError),
])
def test_odd_answers(status: int, body: str, error: type) -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(status, text=body))
    with pytest.raises(error) as info:
        NLUClient("http://nlu.invalid", transport=transport).parse("停水了")
    if error is NLUError:
        assert not isinstance(info.value, NLUUnavailable)


def test_tolerant_of_missing_parts() -> None:
    result = parse_response({"intent": {"name": "water_supply", "confidence": "0.7"},
                             "entities": [{"entity": "location", "start": 0, "end": 2}, {"value": "x"}]}, "天心停水")
    assert result.intent == "water_supply" and result.confidence == 0.7
    assert result.ranking == [("water_supply", 0.7)]
    assert [(e.entity, e.value) for e in result.entities] == [("location", "天心")]
    assert result.text == "天心停水" and result.location_resolution is None
