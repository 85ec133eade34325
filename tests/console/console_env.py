"""Constants shared by the console tests (users, tokens, paths); no fixtures here."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Dict

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
# The test run saves screenshots under reports/ (not tracked); SCREENSHOT_DIR=docs/screenshots
# refreshes the copies the docs show.
SCREENSHOTS = ROOT / os.environ.get("SCREENSHOT_DIR", "reports/screenshots")

PASSWORD = "console-test-password"
# username → (role, department code or None, display name)
USERS: Dict[str, tuple] = {
    "op1": ("operator", None, "坐席小王"),
    "sup1": ("supervisor", None, "督办老李"),
    "staff_police": ("staff", "430104-GA", "岳麓公安"),
    "staff_edu": ("staff", "430102-JY", "芙蓉教育"),
    "staff_zj": ("staff", "430104-ZJ", "岳麓住建"),  # assists on 违法建设 (joint handling)
    "staff_lead": ("staff", "430104001-ZFZD", "岳麓街道执法"),  # leads 违法建设 in 岳麓街道
}
TOKENS: Dict[str, tuple] = {
    "operator": ("console-op-token-0123456789abcdef", "operator", None),
    "supervisor": ("console-sup-token-0123456789abcdef", "supervisor", None),
    "intake": ("console-intake-token-0123456789abcd", "intake", None),
    "staff_police": ("console-police-token-0123456789abcd", "staff", "430104-GA"),
    "staff_edu": ("console-edu-token-0123456789abcdefg", "staff", "430102-JY"),
    "staff_zj": ("console-zj-token-0123456789abcdefghi", "staff", "430104-ZJ"),
}
