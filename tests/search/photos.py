"""Real face photos that ship inside an installed package (scikit-image, a dev dependency):
`astronaut.png` (Eileen Collins, one frontal face), `chelsea.png` (a cat: no face) and
`lfw_subset.npy` (25×25 crops of other people's faces from Labeled Faces in the Wild), and
features made from them with the node's own embedder. Nothing is downloaded."""

from __future__ import annotations

import base64
import io
from functools import cache

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageEnhance
from skimage import data

from zhian.search.photo import embedder

Pixels = npt.NDArray[np.uint8]


def png(pixels: Pixels) -> bytes:
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format="PNG")
    return out.getvalue()


def jpeg(pixels: Pixels, quality: int = 85) -> bytes:
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format="JPEG", quality=quality)
    return out.getvalue()


def astronaut() -> Pixels:
    return np.asarray(data.astronaut(), dtype=np.uint8)


def no_face() -> Pixels:
    return np.asarray(data.chelsea(), dtype=np.uint8)


def astronaut_variants() -> dict[str, Pixels]:
    """The same face as a camera might catch it again: cropped, smaller, darker, brighter,
    tilted, and as a small low-quality JPEG."""
    image = Image.fromarray(astronaut())
    small = image.resize((256, 256))
    return {
        "crop": np.asarray(image.crop((60, 0, 420, 360))),
        "scaled": np.asarray(image.resize((300, 300))),
        "dark": np.asarray(ImageEnhance.Brightness(image).enhance(0.55)),
        "bright": np.asarray(ImageEnhance.Brightness(image).enhance(1.35)),
        "tilted": np.asarray(image.rotate(8)),
        "small_jpeg": np.asarray(Image.open(io.BytesIO(jpeg(np.asarray(small), 40)))),
    }


def two_faces() -> Pixels:
    """The astronaut at full size and, beside it, at half size: two faces, different sizes."""
    full = Image.fromarray(astronaut())
    canvas = Image.new("RGB", (800, 512), (128, 128, 128))
    canvas.paste(full, (0, 0))
    canvas.paste(full.resize((256, 256)), (530, 120))
    return np.asarray(canvas)


def feature(vector: npt.NDArray[np.float32]) -> str:
    """A feature as cameras send it: base64 of little-endian float32."""
    return base64.b64encode(vector.astype("<f4").tobytes()).decode("ascii")


@cache
def variant_features() -> dict[str, npt.NDArray[np.float32]]:
    """The astronaut variants' embeddings (each variant's largest face)."""
    found = {}
    for name, pixels in astronaut_variants().items():
        found[name] = embedder().probe(pixels).vector
    return found


@cache
def other_people(count: int = 50) -> list[npt.NDArray[np.float32]]:
    """Embeddings of `count` other people's faces: LFW crops scaled to 150×150, the whole
    crop taken as the face (they are too small for the detector)."""
    faces = data.lfw_subset()[:100]  # the first 100 are faces, the rest are not
    step = max(1, len(faces) // count)
    vectors = []
    for crop in faces[::step][:count]:
        grey = (np.asarray(crop) * 255).astype(np.uint8)
        big = Image.fromarray(grey).convert("RGB").resize((150, 150), Image.Resampling.BICUBIC)
        vectors.append(embedder().embed_box(np.asarray(big), 0, 0, 149, 149))
    return vectors
