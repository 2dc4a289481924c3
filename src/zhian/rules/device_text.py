"""Chinese names of what devices report in codes or English: fault codes, alarm details.

Devices send fault codes (`sensor_dirty`) and free-text alarm details ("smoke detected");
the Chinese explanations of alerts, and the pages, name them in Chinese. An unknown code or
phrase is shown as sent: it is the device's own word and the only clue there is.
"""

from __future__ import annotations

# Fault codes of heartbeat events (vendor vocabulary seen in the field and the simulator).
FAULT_NAMES: dict[str, tuple[str, str]] = {
    "battery_low": ("电池电量低", "battery low"),
    "tamper_open": ("防拆开关被打开", "tamper switch open"),
    "reader_error": ("读卡器故障", "reader error"),
    "storage_full": ("存储已满", "storage full"),
    "clock_drift": ("时钟偏差", "clock drift"),
    "barrier_stuck": ("道闸卡滞", "barrier stuck"),
    "sensor_dirty": ("传感器积尘需清洁", "sensor dirty"),
    "lens_obstructed": ("镜头被遮挡", "lens obstructed"),
    "power_unstable": ("供电不稳", "power unstable"),
    "offline": ("离线", "offline"),
    # Not a device's own code: the silent-line check's finding (zhian.rules.counting_lines).
    "counting_line_silent": (
        "计数线计数为零（疑似遮挡）",
        "counting line counts nobody (beam blocked?)",
    ),
    "counting_line_flat": (
        "计数线计数冻结（每分钟同一数值）",
        "counting line frozen (the same count every minute)",
    ),
    "unknown": ("未说明的故障", "unspecified fault"),
}

# Alarm details as devices commonly send them (lower case, trimmed) -> Chinese.
ALARM_DETAILS_ZH: dict[str, str] = {
    "smoke detected": "检测到烟雾",
    "smoke concentration high": "烟雾浓度高",
    "smoke concentration rising": "烟雾浓度上升",
    "temperature rise, fire": "温度骤升，疑似起火",
    "sos button pressed": "一键求助按钮被按下",
    "perimeter beam broken": "周界对射被遮断",
    "door forced open": "门被强行打开",
    "door held open": "门长时间未关",
    "tamper": "设备被拆动",
}


def fault_name(code: str, lang: str = "zh") -> str:
    """The display name of a fault code; the code itself when unknown."""
    names = FAULT_NAMES.get(code)
    if names is None:
        return code
    return names[1] if lang == "en" else names[0]


def alarm_detail_zh(detail: str) -> str:
    """An alarm's free-text detail in Chinese where the phrase is known, else as sent."""
    return ALARM_DETAILS_ZH.get(detail.strip().lower(), detail)
