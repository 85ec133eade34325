"""A month of tickets for the dashboard (and its screenshot): several districts and types, some
resolved and rated, some in progress, some overdue. Deterministic."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from routing.auth import Actor
from routing.service import NewTicket, ReporterInput, TicketService
from routing.timeutil import utcnow

INTAKE = Actor(name="demo-bot", role="intake")
OPERATOR = Actor(name="demo-operator", role="operator")

PLACES = ("芙蓉区文艺路街道桃花坪社区", "天心区坡子街街道西湖社区", "岳麓区岳麓街道桃子湖社区", "开福区湘雅路街道",
          "雨花区侯家塘街道", "岳麓区望月湖街道", "长沙县星沙街道", "望城区高塘岭街道")
TYPES = (("noise_pollution", "楼下烧烤店噪音扰民"), ("street_occupation", "门口占道经营"),
         ("water_supply", "小区停水"), ("property_management", "电梯坏了物业不修"),
         ("wage_arrears", "工地拖欠工资"), ("sanitation", "垃圾无人清运"), ("school_fees", "学校乱收费"),
         ("construction_nuisance", "工地夜间施工"))


def seed_dashboard(factory: Any, settings: Any, count: int = 60, tag: str = "demo") -> None:
    now = utcnow()
    with factory() as session:
        service = TicketService(session, settings)
        for i in range(count):
            et, what = TYPES[(i * 3 + i // 7) % len(TYPES)]
            place = PLACES[(i * 5) % len(PLACES)]
            created = now - timedelta(days=29 - (i * 29) // count, hours=(i * 7) % 10)
            t = service.create(INTAKE, NewTicket(
                text=f"{place}{what}（{tag}-{i}）", channel=("telegram", "hotline", "sms", "web")[i % 4],
                event_type=et, nlu_confidence=0.9, location_text=place,
                reporter=ReporterInput(channel_identity=f"telegram:{9000 + i}")), now=created)
            if t.duplicate_of is not None:
                continue
            steps = i % 5
            at = created + timedelta(hours=2)
            if t.department is not None and t.department.intake_desk:
                service.act(OPERATOR, t.number, "dispatch", {"department_code": "430102-CGZF"}, now=at)
            else:
                service.act(OPERATOR, t.number, "dispatch", {}, now=at)
            if steps >= 1:
                service.act(OPERATOR, t.number, "accept", {}, now=at + timedelta(hours=3))
            if steps >= 2 and (i % 11) != 0:
                late = timedelta(days=20) if i % 9 == 0 else timedelta(days=1)
                service.act(OPERATOR, t.number, "resolve", {"reply": "已处理"}, now=at + late)
                if steps >= 3:
                    service.rate(INTAKE, t, 5 - (i % 4 == 0) - (i % 6 == 0) * 2, None, now=at + late + timedelta(hours=5))
        session.commit()
