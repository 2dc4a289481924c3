"""The names of the default tip categories, in Chinese and English.

A deployment's own categories (`[tips] categories`) have no name here and show their code.
"""

from __future__ import annotations

CATEGORY_NAMES: dict[str, tuple[str, str]] = {
    "parking": ("违规停车", "Illegal parking"),
    "noise": ("噪声扰民", "Noise"),
    "dispute": ("纠纷", "Dispute"),
    "facility": ("设施损坏", "Damaged facility"),
    "suspicious": ("可疑情况", "Suspicious activity"),
    "theft": ("盗窃", "Theft"),
    "crowding": ("人员聚集", "Crowding"),
    "smoke": ("冒烟 / 异味", "Smoke or smell of burning"),
    "fire": ("火情", "Fire"),
    "violence": ("暴力", "Violence"),
    "other": ("其他", "Other"),
}


def category_names(category: str) -> tuple[str, str]:
    """The category's (Chinese, English) name; its code for a category without one."""
    return CATEGORY_NAMES.get(category, (category, category))


def tip_alert_titles(category: str, place: str | None) -> tuple[str, str]:
    """The (Chinese, English) title of the alert raised from a tip: its category and place.

    Never the resident's words: an alert's title is kept and sent in clear (the wall, the
    live feed, Web Push, webhooks), while the tip's description stays sealed.
    """
    zh, en = category_names(category)
    if not place:
        return f"群众随手拍：{zh}", f"Resident tip: {en}"
    return f"群众随手拍：{zh}（{place}）", f"Resident tip: {en} at {place}"


def tip_place_name(community: str | None, building: str | None) -> str | None:
    """A tip's place as its alert names it: community and building, else either."""
    if building:
        return f"{community} {building}" if community else building
    return community or None
