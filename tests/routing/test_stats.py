"""办结率, 超期率, 满意度 and counts."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from routing.service import TicketService
from routing.settings import Settings
from routing.stats import compute_stats, period_key

from helpers import INTAKE, OPERATOR, cst, make

T0 = cst(2021, 4, 5, 9)  # a window no other test uses


def test_rates_and_counts(db: Session, settings: Settings) -> None:
    s = TicketService(db, settings)
    a = make(db, settings, T0, location_text="岳麓区岳麓街道桃子湖社区", event_type="sanitation")
    b = make(db, settings, T0 + timedelta(days=1), location_text="芙蓉区文艺路街道", event_type="school_fees")
    c = make(db, settings, T0 + timedelta(days=8), location_text="芙蓉区朝阳街街道", event_type="school_fees")
    d = make(db, settings, T0 + timedelta(days=9), location_text="芙蓉区朝阳街街道", event_type="school_fees")
    for t, rating in ((a, 5), (b, 3)):
        for action, payload in (("dispatch", {}), ("accept", {}), ("resolve", {"reply": "好了"})):
            s.act(OPERATOR, t.number, action, payload, now=t.created_at + timedelta(hours=2))
        s.rate(INTAKE, t, rating, None, now=t.created_at + timedelta(days=1))
    s.act(OPERATOR, d.number, "merge", {"into": c.number})
    now = T0 + timedelta(days=40)  # c is overdue by then
    result = compute_stats(db, T0, T0 + timedelta(days=30), "week", now=now)
    assert result["total"] == 3  # the merged one is counted on its target
    assert result["completed"] == 2 and result["completion_rate"] == round(2 / 3, 4)
    assert result["overdue"] == 1 and result["overdue_rate"] == round(1 / 3, 4)
    assert result["satisfaction_mean"] == 4.0 and result["satisfaction_share_4_5"] == 0.5
    assert {r["code"]: r["count"] for r in result["by_type"]} == {"school_fees": 2, "sanitation": 1}
    assert {r["code"]: r["count"] for r in result["by_region"]} == {"430102": 2, "430104": 1}
    assert {r["code"] for r in result["by_department"]} == {"430102-JY", "430104001-ZFZD"}
    assert [p["count"] for p in result["by_period"]] == [2, 1]
    empty = compute_stats(db, cst(2001, 1, 1), cst(2001, 2, 1))
    assert empty["total"] == 0 and empty["completion_rate"] is None


def test_period_keys() -> None:
    when = cst(2024, 12, 30, 1)
    assert period_key(when, "day") == "2024-12-30"
    assert period_key(when, "week") == "2025-W01"
    assert period_key(when, "month") == "2024-12"
