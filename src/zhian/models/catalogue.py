"""Every batch model, in the order they run."""

from __future__ import annotations

from zhian.models.base import BatchModel
from zhian.models.casing import CasingModel
from zhian.models.group_rental import GroupRentalModel
from zhian.models.housing import MovedOutModel, VacantHouseModel
from zhian.models.unregistered import UnregisteredResidentModel
from zhian.models.vehicles import RestrictedVehicleModel, ZombieVehicleModel
from zhian.models.welfare import WelfareCheckModel

MODELS: tuple[BatchModel, ...] = (
    UnregisteredResidentModel(),
    MovedOutModel(),
    VacantHouseModel(),
    GroupRentalModel(),
    ZombieVehicleModel(),
    RestrictedVehicleModel(),
    CasingModel(),
    WelfareCheckModel(),
)
MODEL_BY_NAME: dict[str, BatchModel] = {m.name: m for m in MODELS}
