"""A face photo's embedding, computed in the node on CPU, for a search by photo (以图搜图).

The network is dlib's: its frontal face detector (HOG; no model file), its 5-point landmark
predictor and its ResNet face-recognition model (128 dimensions), whose files ship inside
the `face_recognition_models` package; both come with the `faces` install extra
(`pip install 'zhian[faces]'`, which `.[dev]` includes). Nothing is downloaded at run time.

The photo is decoded in memory and never written anywhere: only its embedding is compared,
and the audit entry names the case, not the photo. An embedding is comparable only with
features of the same model (`MODEL_ID`), which `[faces] capture_feature_model` says the
cameras' features are; any other model, or none named, is refused with an error that says
so (`check_comparable`).

Faces are looked for at twice the photo's size when it is at most `UPSAMPLE_MAX_SIDE`
pixels (faces down to about 40 pixels), at its size otherwise; a find scored below
`MIN_DETECTION_SCORE` is not a face. Several faces: they are listed largest first and the
largest is used unless the user picks another (`face`, from 1).
"""

from __future__ import annotations

import importlib.util
import io
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageOps

from zhian.errors import BadRequestError, ConfigurationError, PayloadTooLargeError, ZhianError
from zhian.ingest.images import image_format

MODEL_ID: Final = "dlib-resnet-v1"
DIMENSIONS: Final = 128
# dlib's same-person threshold is a Euclidean distance of 0.6 between its descriptors, whose
# length is about 1.45 (LFW accuracy 99.38%): a cosine of about 0.914 once both are unit
# vectors. Measured here (tests/search/test_photo.py): the same face in another crop, scale,
# light, tilt or as a small JPEG at 0.975 or more; 100 other people's faces (small LFW
# crops, blurred by scaling up) at most 0.918. A little above dlib's own, so that a blurred
# stranger is not taken for the person.
SAME_PERSON_SIMILARITY: Final = 0.93
# dlib's detector scores a frontal face well above 1 and its false finds (a round badge, a
# patterned sleeve) near 0: a find below this is not taken for a face.
MIN_DETECTION_SCORE: Final = 0.3
# Photos up to this size are looked at twice as large too (faces down to about 40 pixels);
# larger ones at their size only (faces of about 80 pixels and more), to bound the time.
UPSAMPLE_MAX_SIDE: Final = 1000
_MODELS_PACKAGE: Final = "face_recognition_models"
_LANDMARKS: Final = "shape_predictor_5_face_landmarks.dat"
_NETWORK: Final = "dlib_face_recognition_resnet_model_v1.dat"
_INSTALL_HINT: Final = "install the faces extra: pip install 'zhian[faces]'"


@dataclass(frozen=True)
class FoundFace:
    """A face the detector found: its box in the photo's pixels and its detection score."""

    left: int
    top: int
    width: int
    height: int
    score: float


@dataclass(frozen=True)
class PhotoProbe:
    """A photo's embedding as a unit vector, the faces found (largest first) and which one
    was used (from 1)."""

    vector: npt.NDArray[np.float32]
    faces: tuple[FoundFace, ...]
    chosen: int
    model: str = MODEL_ID

    @property
    def picked_largest(self) -> bool:
        """Several faces were found and the largest was used without the user choosing."""
        return len(self.faces) > 1 and self.chosen == 1


def check_comparable(capture_feature_model: str) -> None:
    """Refuse (BadRequestError naming `photo`) unless the cameras' features are of the model
    a photo's embedding is computed with."""
    named = capture_feature_model.strip()
    if named == MODEL_ID:
        return
    said = f"from model '{named}'" if named else "from a model this node does not name"
    raise BadRequestError(
        f"this node's capture features are {said} ([faces] capture_feature_model); a photo's "
        f"embedding is model '{MODEL_ID}' ({DIMENSIONS} dimensions) and is compared only with "
        "features of the same model: search by the feature instead",
        field="photo",
    )


def decode_photo(data: bytes, *, max_bytes: int, max_side: int) -> npt.NDArray[np.uint8]:
    """The photo as RGB pixels, upright (its EXIF orientation applied) and at most
    `max_side` pixels on its longer side; BadRequestError or PayloadTooLargeError naming
    `photo` for an empty file, a larger one, or one that is not a JPEG or PNG image."""
    if not data:
        raise BadRequestError("choose a photo (JPEG or PNG)", field="photo")
    if len(data) > max_bytes:
        raise PayloadTooLargeError(
            f"the photo is {len(data)} bytes; the limit is {max_bytes}", field="photo"
        )
    try:
        found = image_format(data)
    except ZhianError as error:  # a decompression bomb: PayloadTooLargeError
        raise type(error)(error.message, field="photo") from None
    if found is None:
        raise BadRequestError("the file is not a JPEG or PNG image", field="photo")
    with Image.open(io.BytesIO(data)) as opened:
        image = ImageOps.exif_transpose(opened).convert("RGB")
    if max(image.size) > max_side:
        image.thumbnail((max_side, max_side))
    return np.asarray(image, dtype=np.uint8)


class FaceEmbedder:
    """dlib's detector, landmarks and network, loaded once (about 3 s) and shared; one
    photo at a time runs through them."""

    model_id: Final = MODEL_ID

    def __init__(self, models_dir: Path) -> None:
        import dlib  # the `faces` extra (dlib-bin)

        self._dlib: Any = dlib
        self._detector: Any = dlib.get_frontal_face_detector()
        self._landmarks: Any = dlib.shape_predictor(str(models_dir / _LANDMARKS))
        self._network: Any = dlib.face_recognition_model_v1(str(models_dir / _NETWORK))
        self._lock = threading.Lock()

    def faces(self, pixels: npt.NDArray[np.uint8]) -> list[tuple[FoundFace, Any]]:
        """The faces found, largest first (then by score), with dlib's box of each."""
        upsample = 1 if max(pixels.shape[:2]) <= UPSAMPLE_MAX_SIDE else 0
        with self._lock:
            boxes, scores, _ = self._detector.run(pixels, upsample, MIN_DETECTION_SCORE)
        found = [
            (FoundFace(box.left(), box.top(), box.width(), box.height(), round(score, 3)), box)
            for box, score in zip(boxes, scores, strict=True)
        ]
        return sorted(found, key=lambda f: (-f[0].width * f[0].height, -f[0].score))

    def embed(self, pixels: npt.NDArray[np.uint8], box: Any) -> npt.NDArray[np.float32]:
        """The unit embedding of the face in `box` (a dlib rectangle)."""
        with self._lock:
            shape = self._landmarks(pixels, box)
            descriptor = self._network.compute_face_descriptor(pixels, shape)
        vector = np.asarray(descriptor, dtype=np.float32)
        return vector / np.float32(np.linalg.norm(vector))

    def embed_box(
        self, pixels: npt.NDArray[np.uint8], left: int, top: int, right: int, bottom: int
    ) -> npt.NDArray[np.float32]:
        """The unit embedding of a face already cropped or boxed (no detection)."""
        return self.embed(pixels, self._dlib.rectangle(left, top, right, bottom))

    def probe(self, pixels: npt.NDArray[np.uint8], *, face: int | None = None) -> PhotoProbe:
        """The embedding of one face of the photo: `face` (from 1, largest first) or the
        largest; BadRequestError naming `photo` when no face is found, or `face` when there
        is no such face."""
        found = self.faces(pixels)
        if not found:
            raise BadRequestError(
                "no face found in the photo: use a photo where the face is frontal, lit and "
                "at least about 40 pixels wide",
                field="photo",
            )
        chosen = face or 1
        if not 1 <= chosen <= len(found):
            raise BadRequestError(
                f"the photo has {len(found)} face(s): choose one from 1 to {len(found)}",
                field="face",
            )
        vector = self.embed(pixels, found[chosen - 1][1])
        return PhotoProbe(vector, tuple(f for f, _ in found), chosen)


def models_dir() -> Path | None:
    """The folder of dlib's model files in the installed `face_recognition_models`, found
    without importing it (its `__init__` imports the deprecated `pkg_resources`)."""
    spec = importlib.util.find_spec(_MODELS_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "models"
    return folder if (folder / _NETWORK).is_file() else None


@lru_cache(maxsize=1)
def embedder() -> FaceEmbedder:
    """The node's embedder (loaded at the first search by photo); ConfigurationError naming
    `photo` when dlib or its model files are not installed."""
    folder = models_dir()
    if folder is None or importlib.util.find_spec("dlib") is None:
        raise ConfigurationError(f"search by photo needs dlib and its models: {_INSTALL_HINT}",
                                 field="photo")  # fmt: skip
    return FaceEmbedder(folder)
