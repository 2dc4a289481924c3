"""Bulk upsert of master data (一标三实) with a per-row error report, and registry queries."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from zhian.access.scope import JurisdictionScope
from zhian.devices.models import DeviceKind
from zhian.errors import ConfigurationError, NotFoundError
from zhian.kit.clock import Clock
from zhian.kit.tables import ImportFileError as ImportFileError  # what check_header raises
from zhian.registry.identity import (
    CARD_REF,
    NO_KEY_REASON,
    PROTECTED_CODES,
    IdentityProtector,
    identity_changes,
    stored_columns,
)
from zhian.registry.models import (
    Building,
    Community,
    House,
    JurisdictionLevel,
    PlaceRestriction,
    Resident,
    Unit,
    Vehicle,
)
from zhian.registry.repository import RegistryRepository, table_of
from zhian.registry.schemas import (
    ENTITIES,
    ENTITY_ORDER,
    IDENTITY_ROWS,
    BuildingRead,
    CommunityRead,
    EntitySpec,
    HouseRead,
    JurisdictionRead,
    JurisdictionTreeRead,
    ResidentPlaceRead,
    ZoneRead,
    identity_columns,
    is_empty_cell,
    known_columns,
    required_columns,
)


@dataclass(frozen=True, slots=True)
class RowError:
    """Why one row was rejected. `row` is the spreadsheet row number (the header is row 1)."""

    row: int
    column: str
    reason: str


@dataclass(slots=True)
class ImportReport:
    """What one import of one entity did: every non-blank row is inserted, updated,
    unchanged (already held exactly so) or rejected with its errors."""

    entity: str
    total: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    errors: list[RowError] = field(default_factory=list)
    source: str | None = None  # the file (and sheet) it came from, when it came from one


@dataclass(slots=True)
class _Candidate:
    """A row that passed validation and waits for the reference checks."""

    row: int
    values: dict[str, Any]  # every column of the row schema, defaults filled in
    present: frozenset[str]  # the columns the file has; only these are updated
    identity: dict[str, str | None] = field(default_factory=dict)  # cells to seal (#4)
    codes: dict[str, str | None] = field(default_factory=dict)  # card/plate to seal (#12)


# A check of a row against the row it refers to through a self reference; returns a reason.
ParentCheck = Callable[[Mapping[str, Any], Mapping[str, Any]], str | None]

_LEVEL_RANK = {level.value: rank for rank, level in enumerate(JurisdictionLevel)}


def _check_jurisdiction_parent(child: Mapping[str, Any], parent: Mapping[str, Any]) -> str | None:
    # Levels run province › city › district › station › community; a parent sits higher.
    child_rank = _LEVEL_RANK.get(str(child["level"]))
    parent_rank = _LEVEL_RANK.get(str(parent["level"]))
    if child_rank is not None and parent_rank is not None and parent_rank >= child_rank:
        return f"a {child['level']} cannot sit under {parent['level']} '{parent['id']}'"
    return None


def _check_gateway(child: Mapping[str, Any], parent: Mapping[str, Any]) -> str | None:
    if parent["kind"] != DeviceKind.GATEWAY:
        return f"device '{parent['id']}' is a {parent['kind']}, not a gateway"
    return None


_PARENT_CHECKS: Mapping[str, ParentCheck] = {
    "jurisdictions": _check_jurisdiction_parent,
    "devices": _check_gateway,
}


def entity_spec(entity: str) -> EntitySpec:
    """The import spec of `entity`, or a clear error naming the entities there are."""
    spec = ENTITIES.get(entity)
    if spec is None:
        raise ImportFileError(
            f"unknown entity '{entity}'; expected one of: {', '.join(ENTITY_ORDER)}"
        )
    return spec


def check_header(entity: str, columns: Iterable[str]) -> None:
    """Raise ImportFileError naming the column when a header cannot be imported as `entity`."""
    entity_spec(entity)
    seen: set[str] = set()
    for column in columns:
        if column in seen:
            raise ImportFileError(f"column '{column}' appears twice in the header", field=column)
        seen.add(column)
    known = (*known_columns(entity), *identity_columns(entity))
    unknown = [column for column in seen if column not in known]
    if unknown:
        raise ImportFileError(
            f"unknown column '{unknown[0]}' for {entity}; the columns are: {', '.join(known)}",
            field=unknown[0],
        )
    missing = [column for column in required_columns(entity) if column not in seen]
    if missing:
        names = ", ".join(f"'{column}'" for column in missing)
        plural = "s" if len(missing) > 1 else ""
        raise ImportFileError(
            f"the header lacks required column{plural} {names} for {entity}", field=missing[0]
        )


def _quote(value: object) -> str:
    return f"'{value}'" if isinstance(value, str) else repr(value)


def _number(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _reason(error: ErrorDetails, entity: str) -> str:
    """Pydantic's error in plain English, as a spreadsheet user reads it."""
    kind = error["type"]
    ctx = error.get("ctx") or {}
    got = error.get("input")
    if kind == "missing":
        return "is required"
    if kind == "extra_forbidden":
        return f"is not a column of {entity}"
    if kind == "greater_than":
        return f"must be greater than {_number(ctx['gt'])}"
    if kind == "greater_than_equal":
        return f"must be at least {_number(ctx['ge'])}"
    if kind == "less_than":
        return f"must be less than {_number(ctx['lt'])}"
    if kind == "less_than_equal":
        return f"must be at most {_number(ctx['le'])}"
    if kind in ("float_parsing", "float_type"):
        return f"must be a number, got {_quote(got)}"
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return f"must be a whole number, got {_quote(got)}"
    if kind == "finite_number":
        return "must be a finite number"
    if kind == "string_too_long":
        return f"must be at most {ctx['max_length']} characters"
    if kind == "string_too_short":
        return "must not be empty"
    if kind == "string_type":
        return f"must be text, got {_quote(got)}"
    if kind == "enum":
        return f"must be one of {ctx['expected']}, got {_quote(got)}"
    if kind == "value_error":
        return str(ctx.get("error", error["msg"]))
    return error["msg"]


def _row_errors(exc: ValidationError, row: int, entity: str) -> list[RowError]:
    errors = []
    for error in exc.errors(include_url=False):
        column = str(error["loc"][0]) if error["loc"] else ""
        errors.append(RowError(row=row, column=column, reason=_reason(error, entity)))
    return errors


class _Load:
    """One run of `load_rows`: validate every row, check references, then write in bulk."""

    def __init__(
        self,
        repository: RegistryRepository,
        entity: str,
        spec: EntitySpec,
        context: Mapping[str, object],
        identity: IdentityProtector | None = None,
    ) -> None:
        self.repository = repository
        self.identity = identity
        self.identity_model = IDENTITY_ROWS.get(entity)
        self.entity = entity
        self.spec = spec
        self.context = context
        self.fields = tuple(spec.row_model.model_fields)
        # Card references and plates are stored as token, sealed copy and masked form
        # (#12): `columns` are the row's columns as the table holds them.
        self.codes = PROTECTED_CODES.get(entity, ())
        clear = {code.column for code in self.codes}
        self.columns = (
            *(name for name in self.fields if name not in clear),
            *(name for code in self.codes for name in (code.token_column, code.masked_column)),
            *(code.kind_column for code in self.codes if code.kind_column is not None),
        )
        self.shown = {code.token_column: code.column for code in self.codes}
        self.report = ImportReport(entity=entity)
        # id -> the row where a row with that id was rejected, for clearer child errors.
        self.rejected_ids: dict[str, int] = {}
        table = table_of(spec.orm_model)
        self.table = table.name
        self.foreign_keys: list[tuple[str, str]] = []
        self.self_key: str | None = None
        for key in table.foreign_keys:
            if key.parent.name not in self.fields:
                continue
            if key.column.table is table:
                self.self_key = key.parent.name
            else:
                self.foreign_keys.append((key.parent.name, key.column.table.name))
        self.foreign_keys.sort(key=lambda pair: self.fields.index(pair[0]))
        self.unique_columns = [
            column.name for column in table.columns if column.unique and column.name in self.columns
        ]

    def run(self, rows: Iterable[Mapping[str, object]], first_row_number: int) -> ImportReport:
        candidates = self._validate(rows, first_row_number)
        candidates = self._check_references(candidates)
        if self.self_key is not None:
            candidates = self._resolve_self_references(candidates, self.self_key)
        self._write(candidates)
        self.report.errors.sort(key=lambda error: error.row)
        return self.report

    def _reject(self, row: int, errors: list[RowError], row_id: str | None) -> None:
        self.report.rejected += 1
        self.report.errors.extend(errors)
        if row_id is not None:
            self.rejected_ids.setdefault(row_id, row)

    def _validate(
        self, rows: Iterable[Mapping[str, object]], first_row_number: int
    ) -> list[_Candidate]:
        candidates: list[_Candidate] = []
        first_row_of_id: dict[str, int] = {}
        for row, raw in enumerate(rows, start=first_row_number):
            if all(is_empty_cell(value) for value in raw.values()):
                continue
            self.report.total += 1
            raw_id = raw.get("id")
            row_id = None if is_empty_cell(raw_id) else str(raw_id).strip()
            if row_id is not None:
                if row_id in first_row_of_id:
                    first = first_row_of_id[row_id]
                    reason = f"duplicate id in this file (first on row {first})"
                    self._reject(row, [RowError(row, "id", reason)], None)
                    continue
                first_row_of_id[row_id] = row
            raw, identity, identity_errors = self._split_identity(raw, row)
            try:
                model = self.spec.row_model.model_validate(raw, context=self.context)
            except ValidationError as exc:
                errors = _row_errors(exc, row, self.entity) + identity_errors
                self._reject(row, sorted(errors, key=self._column_rank), row_id)
                continue
            if identity_errors:
                self._reject(row, identity_errors, row_id)
                continue
            values = model.model_dump(mode="json")
            present = frozenset(key for key in raw if key in self.fields)
            protected = self._protect_codes(values, present, row)
            if isinstance(protected, RowError):
                self._reject(row, [protected], row_id)
                continue
            values, present, codes = protected
            candidates.append(_Candidate(row, values, present, identity, codes))
        return candidates

    def _protect_codes(
        self, values: dict[str, Any], present: frozenset[str], row: int
    ) -> tuple[dict[str, Any], frozenset[str], dict[str, str | None]] | RowError:
        """Replace card references and plates by their token and masked form (#12); the
        clear value is kept aside only to be sealed on write."""
        codes: dict[str, str | None] = {}
        for code in self.codes:
            value = values.pop(code.column, None)
            if code.column not in present:
                continue
            if code.many and not value:
                value = None  # an empty list: nothing to seal
            if value is not None and self.identity is None:
                return RowError(row, code.column, NO_KEY_REASON)
            codes[code.column] = value
            if value is None or self.identity is None:
                values[code.token_column] = values[code.masked_column] = None
            else:
                values[code.token_column] = code.token_of(value, self.identity.token)
                values[code.masked_column] = code.masked(value)
            present = (present - {code.column}) | {code.token_column, code.masked_column}
            if code.kind_column is not None and code.classify is not None:
                values[code.kind_column] = None if value is None else code.classify(value)
                present |= {code.kind_column}
        for code in self.codes:
            values.setdefault(code.token_column, None)
            values.setdefault(code.masked_column, None)
            if code.kind_column is not None:
                values.setdefault(code.kind_column, None)
        return values, present, codes

    def _column_rank(self, error: RowError) -> int:
        columns = (*self.fields, *identity_columns(self.entity))
        return columns.index(error.column) if error.column in columns else len(columns)

    def _split_identity(
        self, raw: Mapping[str, object], row: int
    ) -> tuple[Mapping[str, object], dict[str, str | None], list[RowError]]:
        """Take the identity cells (name, id_number, phone) out of a row and check them."""
        if self.identity_model is None:
            return raw, {}, []
        names = identity_columns(self.entity)
        cells = {key: value for key, value in raw.items() if key in names}
        if not cells:
            return raw, {}, []
        rest = {key: value for key, value in raw.items() if key not in names}
        filled = [key for key, value in cells.items() if not is_empty_cell(value)]
        if filled and self.identity is None:
            return rest, {}, [RowError(row, filled[0], NO_KEY_REASON)]
        try:
            model = self.identity_model.model_validate(cells, context=self.context)
        except ValidationError as exc:
            return rest, {}, _row_errors(exc, row, self.entity)
        values = model.model_dump()
        return rest, {key: values[key] for key in cells}, []

    def _check_references(self, candidates: list[_Candidate]) -> list[_Candidate]:
        """References to other entities must exist; unique values must be free in the table
        and appear once in the file."""
        errors: dict[int, list[RowError]] = {}
        for column, target in self.foreign_keys:
            target_spec = ENTITIES[target]
            wanted = {c.values[column] for c in candidates if c.values[column] is not None}
            found = self.repository.existing_ids(target_spec.orm_model, wanted)
            for index, candidate in enumerate(candidates):
                value = candidate.values[column]
                if value is not None and value not in found:
                    reason = f"unknown {target_spec.noun} '{value}'"
                    errors.setdefault(index, []).append(RowError(candidate.row, column, reason))
        for column in self.unique_columns:
            wanted = {c.values[column] for c in candidates if c.values[column] is not None}
            owners = self.repository.owners_of(self.spec.orm_model, column, wanted)
            for index, candidate in enumerate(candidates):
                owner = owners.get(candidate.values[column])
                if owner is not None and owner != candidate.values["id"]:
                    name, value = self._shown(candidate, column)
                    reason = f"{name} '{value}' already belongs to {self.spec.noun} '{owner}'"
                    errors.setdefault(index, []).append(RowError(candidate.row, name, reason))
        # Duplicates within the file last, so a row already rejected claims no value.
        for column in self.unique_columns:
            first_row_of_value: dict[object, int] = {}
            for index, candidate in enumerate(candidates):
                value = candidate.values[column]
                if value is None or index in errors:
                    continue
                if value in first_row_of_value:
                    first = first_row_of_value[value]
                    name = self.shown.get(column, column)
                    reason = f"duplicate {name} in this file (first on row {first})"
                    errors[index] = [RowError(candidate.row, name, reason)]
                else:
                    first_row_of_value[value] = candidate.row
        kept = []
        for index, candidate in enumerate(candidates):
            if index in errors:
                self._reject(candidate.row, errors[index], candidate.values["id"])
            else:
                kept.append(candidate)
        return kept

    def _shown(self, candidate: _Candidate, column: str) -> tuple[str, object]:
        """The import column and value a reason names: the clear value the row itself
        carries for a protected code (the writer of the file knows it), never a token."""
        name = self.shown.get(column, column)
        if name in candidate.codes:
            return name, candidate.codes[name]
        return name, candidate.values[column]

    def _resolve_self_references(
        self, candidates: list[_Candidate], column: str
    ) -> list[_Candidate]:
        """Accept rows whose parent is accepted or stored, parents first, so inserts keep order.

        A parent may come later in the file than its children; each pass accepts the rows
        whose parent is settled, and what never settles is a cycle.
        """
        check = _PARENT_CHECKS.get(self.entity)
        parent_ids = {c.values[column] for c in candidates if c.values[column] is not None}
        stored = self.repository.rows_by_id(self.spec.orm_model, parent_ids, self.columns)
        pending = {c.values["id"]: c for c in candidates}
        accepted: dict[str, _Candidate] = {}
        while pending:
            settled = 0
            for row_id, candidate in list(pending.items()):
                parent_id = candidate.values[column]
                if parent_id is not None and parent_id != row_id and parent_id in pending:
                    continue  # wait until the parent is settled
                settled += 1
                del pending[row_id]
                reason = self._parent_problem(candidate, parent_id, accepted, stored, check)
                if reason is None:
                    accepted[row_id] = candidate
                else:
                    self._reject(candidate.row, [RowError(candidate.row, column, reason)], row_id)
            if not settled:
                for row_id, candidate in pending.items():
                    reason = f"'{candidate.values[column]}' is part of a reference cycle"
                    self._reject(candidate.row, [RowError(candidate.row, column, reason)], row_id)
                break
        return list(accepted.values())

    def _parent_problem(
        self,
        candidate: _Candidate,
        parent_id: str | None,
        accepted: Mapping[str, _Candidate],
        stored: Mapping[str, Mapping[str, Any]],
        check: ParentCheck | None,
    ) -> str | None:
        if parent_id is None:
            return None
        if parent_id == candidate.values["id"]:
            return "must not refer to the row itself"
        if parent_id in accepted:
            parent: Mapping[str, Any] = accepted[parent_id].values
        elif parent_id in stored:
            parent = stored[parent_id]
        elif parent_id in self.rejected_ids:
            return (
                f"{self.spec.noun} '{parent_id}' is rejected on row {self.rejected_ids[parent_id]}"
            )
        else:
            return f"unknown {self.spec.noun} '{parent_id}'"
        return check(candidate.values, parent) if check is not None else None

    def _sealed(self, candidate: _Candidate, old: Mapping[str, Any] | None) -> dict[str, Any]:
        if self.identity is None:
            return {}
        row_id = candidate.values["id"]
        changes: dict[str, Any] = {}
        for code in self.codes:
            if code.column not in candidate.codes:
                continue
            token = candidate.values[code.token_column]
            if old is not None and old.get(code.token_column) == token:
                continue  # the same value: the sealed copy stays as it is
            value = candidate.codes[code.column]
            changes[code.sealed_column] = (
                None
                if value is None
                else self.identity.seal(self.table, code.sealed_column, row_id, value)
            )
        if candidate.identity:
            changes.update(identity_changes(self.identity, row_id, candidate.identity, old))
        return changes

    def _write(self, candidates: list[_Candidate]) -> None:
        model = self.spec.orm_model
        columns = (*self.columns, *stored_columns()) if self.identity_model else self.columns
        stored = self.repository.rows_by_id(model, [c.values["id"] for c in candidates], columns)
        inserts: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        for candidate in candidates:
            old = stored.get(candidate.values["id"])
            sealed = self._sealed(candidate, old)
            if old is None:
                inserts.append({**candidate.values, **sealed})
                continue
            changes = {
                key: candidate.values[key]
                for key in candidate.present
                if key != "id" and old.get(key) != candidate.values[key]
            }
            changes.update(sealed)
            if changes:
                updates.append({"id": candidate.values["id"], **changes})
            else:
                self.report.unchanged += 1
        # Inserts first: an updated row may now refer to a row inserted here.
        self.repository.insert_many(model, inserts)
        self.repository.update_many(model, updates)
        self.report.inserted += len(inserts)
        self.report.updated += len(updates)


@dataclass(frozen=True)
class RegistrySnapshot:
    """Every community, building, unit, house, resident and vehicle as stored: the batch
    models' read-only view of the registry (the node's own work, never a user's)."""

    communities: list[Community]
    buildings: list[Building]
    units: list[Unit]
    houses: list[House]
    residents: list[Resident]
    vehicles: list[Vehicle]
    place_restrictions: list[PlaceRestriction] = field(default_factory=list)


class RegistryService:
    """Loads and reads the master registry. The caller owns the transaction: nothing commits.

    Pass a clock to bound plausible values by today (a birth year cannot lie ahead).
    """

    def __init__(
        self,
        session: Session,
        *,
        clock: Clock | None = None,
        identity: IdentityProtector | None = None,
    ) -> None:
        self.repository = RegistryRepository(session)
        self.clock = clock
        self.identity = identity  # seals identity cells (governance); None refuses them

    def load_rows(
        self,
        entity: str,
        rows: Iterable[Mapping[str, object]],
        *,
        first_row_number: int = 2,
    ) -> ImportReport:
        """Upsert `rows` of `entity` by id; every rejected row is reported, none half-loaded.

        Rows are numbered from `first_row_number` on; wholly blank rows count for the
        numbering but are skipped. References must exist in the database (entities earlier
        in the load order go first) or, for a self reference, anywhere in the same rows.
        A column the rows lack is left as stored on update and takes its default on insert.
        """
        spec = entity_spec(entity)
        context: dict[str, object] = {}
        if self.clock is not None:
            context["current_year"] = self.clock.now().year
        return _Load(self.repository, entity, spec, context, self.identity).run(
            rows, first_row_number
        )

    def count_by_entity(self) -> dict[str, int]:
        """Rows held per entity, in load order."""
        return {
            entity: self.repository.count(ENTITIES[entity].orm_model) for entity in ENTITY_ORDER
        }

    def vehicles_with_plate_kind(self, kind: str) -> int:
        """Registered vehicles whose plate is of `kind` by the plate rule (data quality
        counts `other`: foreign or unreadable plates, kept at import)."""
        query = select(func.count()).select_from(Vehicle).where(Vehicle.plate_kind == kind)
        return int(self.repository.session.scalar(query) or 0)

    def snapshot(self) -> RegistrySnapshot:
        """The whole registry, read once (batch models join against it). Residents whose
        move-out was confirmed (#15) no longer live there: the models do not see them."""
        rows = self.repository.all_rows
        return RegistrySnapshot(
            communities=rows(Community),
            buildings=rows(Building),
            units=rows(Unit),
            houses=rows(House),
            residents=[r for r in rows(Resident) if r.moved_out_at is None],
            vehicles=rows(Vehicle),
            place_restrictions=rows(PlaceRestriction),
        )

    def place_restrictions(self) -> list[PlaceRestriction]:
        """Every restricted place (the parameters page filters them by community)."""
        return self.repository.all_rows(PlaceRestriction)

    def remove_place_restriction(self, restriction_id: str) -> None:
        """Delete one restricted place; its alerts keep naming it by id."""
        row = self.repository.session.get(PlaceRestriction, restriction_id)
        if row is not None:
            self.repository.session.delete(row)
            self.repository.session.flush()

    def list_communities(self, *, scope: JurisdictionScope) -> list[CommunityRead]:
        """The communities within `scope`, by id (pass `JurisdictionScope.unscoped()` for the
        node's own work, never for a user)."""
        rows = self.repository.list_communities(scope=scope)
        return [CommunityRead.model_validate(row) for row in rows]

    def resident(self, resident_id: str, *, scope: JurisdictionScope) -> ResidentPlaceRead:
        """One resident and their place; NotFoundError when absent or outside `scope`, alike,
        so a reader learns nothing of another jurisdiction's residents."""
        row = self.repository.resident_place(resident_id, scope=scope)
        if row is None:
            where = "" if scope.is_unscoped else " in your jurisdiction"
            raise NotFoundError(f"no resident '{resident_id[:64]}'{where}", field="resident_id")
        return ResidentPlaceRead.model_validate(dict(row))

    def residents(
        self,
        *,
        scope: JurisdictionScope,
        community_id: str | None = None,
        card_ref: str | None = None,
        id_number_token: str | None = None,
        name_token: str | None = None,
        limit: int | None = None,
    ) -> list[ResidentPlaceRead]:
        """Residents in `scope`, by id; narrowed to a community, an access card or the keyed
        token of an ID-card number or of a name (`zhian.registry.identity`). The card is looked
        up by its keyed token (the registry holds no card in clear), so that needs `identity`."""
        card_ref_token = None
        if card_ref is not None:
            if self.identity is None:
                raise ConfigurationError(
                    "finding a resident by card needs the key ring: cards are stored as tokens"
                )
            card_ref_token = self.identity.token(CARD_REF.token_kind, card_ref)
        rows = self.repository.resident_places(
            scope=scope,
            community_id=community_id,
            card_ref_token=card_ref_token,
            id_number_token=id_number_token,
            name_token=name_token,
            limit=limit,
        )
        return [ResidentPlaceRead.model_validate(dict(row)) for row in rows]

    def houses(
        self, *, scope: JurisdictionScope, community_id: str | None = None
    ) -> list[HouseRead]:
        """Houses in `scope`, by id, optionally of one community."""
        rows = self.repository.houses(scope=scope, community_id=community_id)
        return [HouseRead.model_validate(dict(row)) for row in rows]

    def buildings(
        self, *, scope: JurisdictionScope, community_id: str | None = None
    ) -> list[BuildingRead]:
        """Buildings in `scope`, by id, optionally of one community."""
        rows = self.repository.buildings(scope=scope, community_id=community_id)
        return [BuildingRead.model_validate(row) for row in rows]

    def zones(self, *, scope: JurisdictionScope) -> list[ZoneRead]:
        """Zones in `scope` with their polygons, by id."""
        return [ZoneRead.model_validate(row) for row in self.repository.zones(scope=scope)]

    def zone_ids(self) -> list[str]:
        """Ids of every zone; the intake checks crowd counts against them."""
        return self.repository.zone_ids()

    def jurisdictions(self, *, under: str | None = None) -> list[JurisdictionRead]:
        """Jurisdictions by id: every one, or `under` and every one below it."""
        rows = [
            JurisdictionRead.model_validate(row) for row in self.repository.list_jurisdictions()
        ]
        if under is None:
            return rows
        tree = self.jurisdiction_tree()
        wanted = _subtree(tree.parents, under)
        return [row for row in rows if row.id in wanted]

    def jurisdiction_names(self) -> dict[str, str]:
        """Jurisdiction id -> display name."""
        return dict(self.jurisdiction_tree().names)

    def jurisdiction_tree(self) -> JurisdictionTreeRead:
        """The whole tree in two queries: parents, names, levels and community owners."""
        rows = self.repository.list_jurisdictions()
        return JurisdictionTreeRead(
            parents={row.id: row.parent_id for row in rows},
            names={row.id: row.name for row in rows},
            levels={row.id: row.level for row in rows},
            community_jurisdiction=self.repository.community_jurisdictions(),
        )

    def address_matcher(self) -> AddressMatcher:
        """A matcher of address texts to the registry's buildings, built once per use."""
        return AddressMatcher(self.repository.building_names())

    def place_of(
        self, *, building_id: str | None = None, house_id: str | None = None
    ) -> PlaceRead | None:
        """The building a house or building id names, with its position, community and
        jurisdiction; None when the registry does not hold it (cases match their place to
        it, #16)."""
        row = self.repository.building_place(building_id=building_id, house_id=house_id)
        if row is None:
            return None
        name = f"{row['community_name']} {row['building_name']}"
        if house_id is not None:
            name = f"{name} {row['house_number']}"
        return PlaceRead(
            building_id=row["building_id"],
            community_id=row["community_id"],
            jurisdiction_id=row["jurisdiction_id"],
            latitude=row["latitude"],
            longitude=row["longitude"],
            address=name,
        )


def address_key(text: str) -> str:
    """An address folded for matching: full-width forms as ASCII (NFKC), no spaces or
    punctuation between, one case."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return "".join(ch for ch in folded if ch.isalnum())


class AddressMatcher:
    """Finds the one registry building an address text names: the text must hold the
    building's community name followed by its building name ("阳光花园3幢2单元301室" →
    阳光花园, 3幢). None when no building or more than one matches, so a guess never places
    a case."""

    def __init__(self, buildings: Iterable[tuple[str, str, str]]) -> None:
        self._by_community: dict[str, list[tuple[str, str]]] = {}
        for building_id, community, name in buildings:
            key = address_key(community)
            if key:
                self._by_community.setdefault(key, []).append((address_key(name), building_id))

    def building_of(self, address: str) -> str | None:
        text = address_key(address)
        found = {
            building_id
            for community, buildings in self._by_community.items()
            if (start := text.find(community)) >= 0
            for name, building_id in buildings
            if name and text.startswith(name, start + len(community))
        }
        return found.pop() if len(found) == 1 else None


@dataclass(frozen=True)
class PlaceRead:
    """A building's position and what it belongs to."""

    building_id: str
    community_id: str
    jurisdiction_id: str
    latitude: float
    longitude: float
    address: str


def _subtree(parents: Mapping[str, str | None], root: str) -> set[str]:
    children: dict[str, list[str]] = {}
    for child, parent in parents.items():
        if parent is not None:
            children.setdefault(parent, []).append(child)
    out = {root} if root in parents else set()
    stack = list(out)
    while stack:
        for child in children.get(stack.pop(), []):
            if child not in out:
                out.add(child)
                stack.append(child)
    return out
