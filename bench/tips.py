"""Time to receive a resident's tip with photos: the form's POST, photos cleaned and sealed.

Run: .venv/bin/python bench/tips.py [--tips 20] [--photos 3] [--width 4000] [--height 3000]

A node on the embedded default with the demo district loaded serves the app in-process
(FastAPI's TestClient, no network). Each sample is one `POST /tip` with `--photos` JPEG
photos of `--width`×`--height` pixels carrying EXIF (camera make, GPS): the tip is checked,
each photo decoded and re-encoded from its pixels (docs/tips.md), sealed and stored, the
row committed. The per-address limit is raised for the run. Prints the photo size, the
p50/p95 of one tip, and of one photo's cleaning alone. Ends by itself.
"""

from __future__ import annotations

import argparse
import io
import re
import statistics
import tempfile
import time
from pathlib import Path

from fastapi.testclient import TestClient
from PIL import Image

from zhian.cli.demo import load_district, prepare_workspace
from zhian.config import load_settings
from zhian.node import Node
from zhian.sim import build_district
from zhian.tips.photos import clean_photo
from zhian.web.app import create_app

_FORM_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def _photo(width: int, height: int) -> bytes:
    """A camera-like JPEG with EXIF: gradients with sensor-like noise (a phone photo's
    size, some MiB, rather than a flat image's few KiB)."""
    across = Image.linear_gradient("L").resize((width, height))
    down = Image.linear_gradient("L").rotate(90).resize((width, height))
    noise = Image.effect_noise((width, height), 24)
    image = Image.merge("RGB", (across, down, Image.blend(across, noise, 0.5)))
    exif = Image.Exif()
    exif[0x010F] = "BenchCam"  # Make
    exif[0x8825] = {1: "N", 2: (30.0, 16.0, 12.0)}  # GPS
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=90, exif=exif)
    return out.getvalue()


def _percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tips", type=int, default=20)
    parser.add_argument("--photos", type=int, default=3)
    parser.add_argument("--width", type=int, default=4000)
    parser.add_argument("--height", type=int, default=3000)
    args = parser.parse_args()

    photo = _photo(args.width, args.height)
    district = build_district(seed=7, scale=1.0)
    community = district.tables["communities"][0]
    place = {"latitude": str(community["latitude"]), "longitude": str(community["longitude"])}
    with tempfile.TemporaryDirectory() as tmp:
        workspace = Path(tmp) / "bench"
        prepare_workspace(workspace, fresh=True)
        settings = load_settings(
            workspace,
            web={"secret_key": "b" * 40},
            tips={"tips_per_address_per_hour": args.tips + 10, "max_photos": args.photos},
        )
        node = Node.open(settings)
        try:
            load_district(node, district)
            cleaning = []
            for _ in range(args.tips):
                began = time.perf_counter()
                clean_photo(photo, index=1, max_bytes=settings.tips.max_photo_bytes)
                cleaning.append(time.perf_counter() - began)
            samples = []
            with TestClient(create_app(node), follow_redirects=False) as client:
                for n in range(args.tips):
                    found = _FORM_TOKEN.search(client.get("/tip").text)
                    assert found, "the tip form carries no CSRF token"
                    data = {
                        "csrf_token": found.group(1),
                        "category": "smoke",
                        "description": f"楼道有烟味（测试 {n}）",
                        "contact": "",
                        **place,
                    }
                    files = [("photos", (f"p{i}.jpg", photo, "image/jpeg")) for i in range(3)]
                    began = time.perf_counter()
                    answer = client.post("/tip", data=data, files=files[: args.photos])
                    samples.append(time.perf_counter() - began)
                    assert answer.status_code == 303, answer.text[:500]
        finally:
            node.close()
    print(
        f"photo: {args.width}x{args.height} JPEG with EXIF, {len(photo) / 2**20:.2f} MiB; "
        f"{args.photos} photos a tip, {args.tips} tips"
    )
    print(
        f"one tip (POST /tip, photos cleaned, sealed, committed): "
        f"p50 {statistics.median(samples) * 1000:.0f} ms, "
        f"p95 {_percentile(samples, 0.95) * 1000:.0f} ms"
    )
    print(
        f"one photo cleaned (decode, re-encode from pixels): "
        f"p50 {statistics.median(cleaning) * 1000:.0f} ms, "
        f"p95 {_percentile(cleaning, 0.95) * 1000:.0f} ms"
    )


if __name__ == "__main__":
    main()
