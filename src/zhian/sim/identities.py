"""Synthetic identities of the demo's residents: valid in form, obviously not real.

The demo shows masking and reveal, so its residents need a name, an ID-card number and a
phone. The ID numbers pass GB 11643 (a province code, a real birth date, the check
character) but carry county code 99, which no county of GB/T 2260 bears, so none can be a
real person's; the phones are 170-prefixed virtual-operator numbers. The same resident
always gets the same identity.
"""

from __future__ import annotations

import random
from datetime import date

_SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹彭曾萧田董潘袁蔡蒋余于杜叶程"
)
_GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂华建国红英玉秀文志海燕雪晨宇浩然欣怡子涵梓轩"
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
# Zhejiang (33), Hangzhou (01), county 99: the form of a real number, no real county.
_REGION = "330199"
IDENTITY_COLUMNS = ("name", "id_number", "phone")


def check_character(first17: str) -> str:
    """The GB 11643 check character of the first 17 digits."""
    return _CHECK[sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True)) % 11]


def synthetic_identity(index: int, resident_id: str, birth_year: int) -> dict[str, str]:
    """Name, ID number and phone of the `index`-th resident (unique per index < 28,000:
    the sequence digits are index % 1000, the birth day moves with index // 1000)."""
    rng = random.Random(f"zhian-sim-identity:{resident_id}")
    given = "".join(rng.choice(_GIVEN) for _ in range(1 + int(rng.random() < 0.6)))
    born = date(birth_year, 1 + int(rng.random() * 12), 1 + (index // 1000) % 28)
    first17 = f"{_REGION}{born:%Y%m%d}{index % 1000:03d}"
    return {
        "name": rng.choice(_SURNAMES) + given,
        "id_number": first17 + check_character(first17),
        "phone": f"170{index:08d}",
    }
