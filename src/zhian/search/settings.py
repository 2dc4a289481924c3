"""Face search settings (`[faces]`): which model made the capture features.

Owned here, assembled by `zhian.config.Settings`: a settings module imports nothing of
Zhian, so any module may import it (docs/configuration.md is generated from these).
"""

from __future__ import annotations

from pydantic import BaseModel, Field


class FaceSearchSettings(BaseModel):
    """Search by photo (以图搜图) and what the cameras' face features are (docs/search.md)."""

    capture_feature_model: str = Field(
        default="",
        max_length=64,
        description=(
            "Id of the face-recognition model that made the features this node's cameras "
            "and GA/T 1400 platforms send. A search by photo compares the photo's embedding "
            "(model `dlib-resnet-v1`, 128 dimensions) only with features of the same model: "
            "set `dlib-resnet-v1` when the cameras' features are dlib's ResNet embedding. "
            "Empty (the default) or another model refuses a search by photo with an error "
            "that says so; a search by feature is not affected."
        ),
    )
    photo_max_side: int = Field(
        default=2000,
        ge=200,
        le=8000,
        description=(
            "A photo searched by is scaled down to at most this many pixels on its longer "
            "side before faces are looked for (a face of 40 pixels or more is still found; "
            "larger photos only cost time)."
        ),
    )
