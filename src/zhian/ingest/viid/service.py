"""The GA/T 1400 server side of a node: registration, sessions, uploads and queries."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, cast

import msgspec
from sqlalchemy import ColumnElement
from sqlalchemy.orm import Session

from zhian.access.scope import JurisdictionScope
from zhian.db.engine import Database
from zhian.devices.service import DeviceService
from zhian.errors import BadRequestError, NotFoundError
from zhian.ingest.events import Event, HeartbeatEvent
from zhian.ingest.images import BlobCipher, ImageStore
from zhian.ingest.service import IntakeService
from zhian.ingest.validate import FieldError
from zhian.ingest.viid.digest import DigestAuthority, DigestCredential, ha1_of
from zhian.ingest.viid.mapping import (
    MappedObject,
    MappingOptions,
    ObjectRejected,
    map_image,
    map_object,
    scrub,
)
from zhian.ingest.viid.models import (
    ViidObject,
    ViidSubscription,
    body_context,
    subscription_context,
)
from zhian.ingest.viid.objects import IMAGE_INNER_LISTS, ObjectKind
from zhian.ingest.viid.query import parse_query
from zhian.ingest.viid.repository import ViidRepository
from zhian.ingest.viid.sessions import SessionTable
from zhian.ingest.viid.settings import ViidSettings
from zhian.ingest.viid.wire import (
    StatusCode,
    ViidRequestError,
    format_time,
    id_error,
    list_items,
    list_reply,
    parse_body,
    parse_time,
    response_status,
    single_reply,
)
from zhian.kit.clock import Clock

SOURCE = "viid"
# A Digest password a person sets; a generated one is 24 characters.
MIN_PASSWORD_CHARS = 8
MAX_PASSWORD_CHARS = 128
_FUNCTION_TYPES = {
    "vehicle_gate": "1",
    "checkpoint": "1",
    "parking_camera": "1",
    "face_camera": "2",
    "door": "3",
}


def store_password(
    session: Session,
    device_id: str,
    password: str,
    *,
    realm: str,
    now: datetime,
    username: str | None = None,
) -> None:
    """Store a device's GA/T 1400 Digest credential (HA1 of user, realm, password) in the
    caller's transaction; the password itself is not kept. A node reads credentials from
    the database at each registration, so a running node needs no reload. Raises
    NotFoundError for an unknown device, BadRequestError for an id that is not a 20-digit
    GA/T 1400 ID; nothing is written then."""
    if not MIN_PASSWORD_CHARS <= len(password) <= MAX_PASSWORD_CHARS:
        raise BadRequestError(
            f"must be {MIN_PASSWORD_CHARS} to {MAX_PASSWORD_CHARS} characters", field="password"
        )
    if DeviceService(session).get_device(device_id, scope=JurisdictionScope.unscoped()) is None:
        raise NotFoundError(f"unknown device '{device_id}'", field="device_id")
    if problem := id_error(device_id, 20):
        # The device exists: its id cannot take a GA/T 1400 credential (400, not 404).
        raise BadRequestError(f"a GA/T 1400 device ID {problem}", field="device_id")
    user = username or device_id
    ViidRepository(session).put_credential(
        device_id, user, realm, ha1_of(user, realm, password), now
    )


@dataclass
class ViidReply:
    """What to answer: HTTP status, JSON body (None: empty) and extra headers."""

    status: int
    body: dict[str, Any] | None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class _Pending:
    """One object of an upload on its way through the intake."""

    object_id: str
    errors: list[FieldError]
    mapped: MappedObject | None = None
    first_event: int = 0


class ViidService:
    """Registers GA/T 1400 peers with Digest, keeps their sessions, and takes their uploads.

    Every uploaded object goes through the one intake path (validation, quarantine,
    idempotency, durability) as Zhian events; accepted objects are also kept as sent in
    the VIID object store, which serves GET queries and subscriptions.
    """

    def __init__(
        self,
        *,
        db: Database,
        intake: IntakeService,
        images: ImageStore,
        clock: Clock,
        settings: ViidSettings,
        max_batch_items: int,
        cipher: BlobCipher,
    ) -> None:
        self.db = db
        # Kept objects name people and plates: their bodies are sealed at rest (#12).
        self._cipher = cipher
        self.settings = settings
        self.clock = clock
        self._intake = intake
        self.images = images
        self._max_batch_items = max_batch_items
        self.timezone = timezone(timedelta(hours=settings.timezone_offset_hours))
        ttl = settings.keepalive_interval_seconds * settings.missed_keepalives
        self.sessions = SessionTable(ttl_seconds=ttl, clock=clock)
        self.digest = DigestAuthority(
            settings.realm, nonce_ttl_seconds=settings.nonce_expiry_seconds, clock=clock
        )
        self.options = MappingOptions(
            timezone=self.timezone,
            face_quality=settings.face_quality,
            direction="out" if settings.direction == "out" else "in",
        )

    # --- credentials ----------------------------------------------------------------------

    def set_password(
        self, session: Session, device_id: str, password: str, *, username: str | None = None
    ) -> None:
        """Store the Digest credential of a device (HA1 only) in the caller's transaction;
        the password is not kept. The id is checked before anything is written."""
        store_password(
            session,
            device_id,
            password,
            realm=self.settings.realm,
            now=self.clock.now(),
            username=username,
        )

    def _credential(self, username: str) -> DigestCredential | None:
        with self.db.session() as session:
            row = ViidRepository(session).credential_by_username(username)
            return None if row is None else DigestCredential(row.username, row.realm, row.ha1)

    # --- system ---------------------------------------------------------------------------

    def register(
        self,
        *,
        authorization: str | None,
        body: bytes,
        content_type: str | None,
        path: str,
        remote: str,
    ) -> ViidReply:
        """Two-step Register: 401 with a Digest challenge, then 200 with StatusCode 0."""
        try:
            device_id = self._system_device_id(body, content_type, "RegisterObject", required=True)
        except ViidRequestError as exc:
            return self._status(200, "", path, exc.code, _reason(exc))
        if not authorization:
            return self._challenge(device_id, path, "authentication required")
        outcome = self.digest.verify(
            authorization, method="POST", path=path, lookup=self._credential
        )
        if not outcome.is_valid:
            return self._challenge(
                device_id, path, f"Authorization: {outcome.reason}", stale=outcome.is_stale
            )
        with self.db.session() as session:
            row = ViidRepository(session).credential(device_id)
            holder = None if row is None else row.username
        if holder != outcome.username:
            reason = f"DeviceID: user '{outcome.username}' may not register '{device_id}'"
            return self._challenge(device_id, path, reason)
        entry = self._intake.directory.devices.get(device_id)
        if entry is None or not entry.is_enabled:
            return self._challenge(device_id, path, f"DeviceID: device '{device_id}' is disabled")
        self.sessions.open(device_id, remote)
        self._heartbeat(device_id)
        return self._status(200, device_id, path, StatusCode.OK, "OK")

    def keepalive(
        self, *, user_identify: str | None, body: bytes, content_type: str | None, path: str
    ) -> ViidReply:
        """Refresh the session and feed the intake a heartbeat; 401 when the session is gone."""
        try:
            device_id = self._system_device_id(
                body, content_type, "KeepaliveObject", required=False
            )
        except ViidRequestError as exc:
            return self._status(200, user_identify or "", path, exc.code, _reason(exc))
        who = user_identify or device_id
        if device_id and user_identify and device_id != user_identify:
            reason = f"KeepaliveObject.DeviceID: '{device_id}' differs from User-Identify"
            return self._status(200, who, path, StatusCode.INVALID_JSON_CONTENT, reason)
        if self.sessions.touch(who) is None:
            return self._challenge(
                who, path, "not registered or the session expired; register again"
            )
        self._heartbeat(who)
        return self._status(200, who, path, StatusCode.OK, "OK")

    def unregister(
        self, *, user_identify: str | None, body: bytes, content_type: str | None, path: str
    ) -> ViidReply:
        try:
            device_id = self._system_device_id(
                body, content_type, "UnRegisterObject", required=False
            )
        except ViidRequestError as exc:
            return self._status(200, user_identify or "", path, exc.code, _reason(exc))
        who = user_identify or device_id
        if not self.sessions.close(who):
            return self._status(200, who, path, StatusCode.INVALID_OPERATION, "not registered")
        return self._status(200, who, path, StatusCode.OK, "OK")

    def system_time(self) -> dict[str, Any]:
        offset = self.settings.timezone_offset_hours
        zone = "Asia/Shanghai" if offset == 8 else f"UTC{offset:+g}"
        return {
            "SystemTimeObject": {
                "VIIDServerID": self.settings.server_id,
                "TimeMode": "1",
                "LocalTime": format_time(self.clock.now(), self.timezone),
                "TimeZone": zone,
            }
        }

    def session_of(self, user_identify: str | None, path: str) -> str | ViidReply:
        """The caller's live session (refreshed), or the 401 reply to send instead."""
        session = self.sessions.touch(user_identify)
        if session is None:
            return self._challenge(
                user_identify or "", path, "User-Identify: not registered; register first"
            )
        return session.device_id

    def _system_device_id(
        self, body: bytes, content_type: str | None, wrapper: str, *, required: bool
    ) -> str:
        if not body.strip() and not required:
            return ""
        parsed = parse_body(body, content_type)
        inner = parsed.get(wrapper) if isinstance(parsed, dict) else None
        if not isinstance(inner, dict):
            if required:
                raise ViidRequestError(StatusCode.INVALID_JSON_CONTENT, wrapper, "is required")
            return ""
        device_id = inner.get("DeviceID")
        if problem := id_error(device_id, 20):
            raise ViidRequestError(StatusCode.INVALID_JSON_CONTENT, f"{wrapper}.DeviceID", problem)
        return cast(str, device_id)

    def _heartbeat(self, device_id: str) -> None:
        now = self.clock.now()
        beat = HeartbeatEvent(
            id=f"viid-hb-{now.strftime('%Y%m%d%H%M%S%f')}",
            device_id=device_id,
            time=now,
            status="ok",
        )
        self._intake.submit_events([beat], source=SOURCE, sender_id=device_id)

    def _challenge(
        self, object_id: str, path: str, reason: str, *, stale: bool = False
    ) -> ViidReply:
        reply = self._status(401, object_id, path, StatusCode.INVALID_OPERATION, reason)
        reply.headers["WWW-Authenticate"] = self.digest.challenge(stale=stale)
        return reply

    def _status(
        self, http: int, object_id: str, path: str, code: StatusCode, text: str
    ) -> ViidReply:
        status = response_status(object_id, path, code, text, self.clock.now(), self.timezone)
        return ViidReply(http, single_reply(status))

    # --- uploads --------------------------------------------------------------------------

    def upload(
        self, kind: ObjectKind, *, sender: str, body: bytes, content_type: str | None, path: str
    ) -> ViidReply:
        """POST /VIID/Faces|Persons|MotorVehicles|NonMotorVehicles: one status per object."""
        try:
            parsed = parse_body(body, content_type)
            items = list_items(parsed, kind.wrapper, kind.item_keys)
            self._check_batch(len(items), kind.wrapper)
        except ViidRequestError as exc:
            return self._refuse_whole(exc, body, sender, content_type, path)
        pending = [self._map(kind, item, sender, content_type) for item in items]
        statuses = self._submit(pending, sender, path)
        return ViidReply(200, list_reply(statuses))

    def upload_images(
        self, *, sender: str, body: bytes, content_type: str | None, path: str
    ) -> ViidReply:
        """POST /VIID/Images: each Image's picture is stored; its inner object lists mapped."""
        try:
            parsed = parse_body(body, content_type)
            elements = list_items(parsed, "ImageListObject", ("Image", "ImageObject"))
            self._check_batch(len(elements), "ImageListObject")
        except ViidRequestError as exc:
            return self._refuse_whole(exc, body, sender, content_type, path)
        statuses: list[dict[str, Any]] = []
        for element in elements:
            statuses.append(self._one_image(element, sender, content_type, path))
        return ViidReply(200, list_reply(statuses))

    def _one_image(
        self, element: object, sender: str, content_type: str | None, path: str
    ) -> dict[str, Any]:
        now = self.clock.now()
        try:
            image_id, ref, stored = map_image(
                element, save_image=self.images.save, options=self.options
            )
        except ObjectRejected as exc:
            self._quarantine_object(element, exc.errors, sender, content_type)
            return response_status(
                exc.object_id or "",
                path,
                StatusCode.INVALID_JSON_CONTENT,
                str(exc),
                now,
                self.timezone,
            )
        pending: list[_Pending] = []
        assert isinstance(element, dict)
        for list_name, kind in IMAGE_INNER_LISTS.items():
            inner = element.get(list_name)
            if isinstance(inner, dict):
                inner = next((inner[k] for k in kind.item_keys if k in inner), [])
            for item in inner if isinstance(inner, list) else []:
                pending.append(self._map(kind, item, sender, content_type, picture=ref))
        inner_statuses = self._submit(pending, sender, path)
        failed = [s for s in inner_statuses if s["StatusCode"] != 0]
        found = stored.get("ImageInfo")
        info: dict[str, Any] = found if isinstance(found, dict) else {}
        self._keep_image(image_id, info, stored, now)
        if failed:
            text = "; ".join(f"{s['Id']}: {s['StatusString']}" for s in failed)
            return response_status(
                image_id, path, StatusCode.INVALID_JSON_CONTENT, text, now, self.timezone
            )
        return response_status(image_id, path, StatusCode.OK, "OK", now, self.timezone)

    def _keep_image(
        self, image_id: str, info: dict[str, Any], stored: dict[str, Any], now: datetime
    ) -> None:
        try:
            shot_at = parse_time(info.get("ShotTime"), self.timezone)
        except ValueError:
            shot_at = now
        row = {
            "kind": "Images",
            "object_id": image_id,
            "device_id": str(info.get("DeviceID") or ""),
            "shot_at": shot_at,
            "received_at": now,
            "body_enc": self.seal_body("Images", image_id, stored),
        }
        with self.db.session() as session:
            ViidRepository(session).add_objects([row])

    def _check_batch(self, count: int, wrapper: str) -> None:
        if count > self._max_batch_items:
            raise ViidRequestError(
                StatusCode.INVALID_JSON_CONTENT,
                wrapper,
                f"holds {count} objects; the limit is {self._max_batch_items}",
            )

    def _map(
        self,
        kind: ObjectKind,
        item: object,
        sender: str,
        content_type: str | None,
        picture: str | None = None,
    ) -> _Pending:
        try:
            mapped = map_object(
                kind,
                item,
                device_kind=self._device_kind,
                save_image=self.images.save,
                options=self.options,
                picture=picture,
            )
        except ObjectRejected as exc:
            self._quarantine_object(item, exc.errors, sender, content_type)
            return _Pending(exc.object_id or "", exc.errors)
        return _Pending(mapped.object_id, [], mapped)

    def _device_kind(self, device_id: str) -> str | None:
        entry = self._intake.directory.devices.get(device_id)
        kind = getattr(entry, "kind", None)
        return None if kind is None else str(kind)

    def _submit(self, pending: list[_Pending], sender: str, path: str) -> list[dict[str, Any]]:
        """Send the mapped events through the intake; keep the objects whose events held."""
        events: list[Event] = []
        for item in pending:
            if item.mapped is not None:
                item.first_event = len(events)
                events.extend(item.mapped.events)
        outcomes = (
            self._intake.submit_events(events, source=SOURCE, sender_id=sender).items
            if events
            else []
        )
        now = self.clock.now()
        keep: list[dict[str, Any]] = []
        statuses: list[dict[str, Any]] = []
        for item in pending:
            text = "OK"
            if item.mapped is not None:
                mine = outcomes[item.first_event : item.first_event + len(item.mapped.events)]
                for outcome in mine:
                    item.errors.extend(outcome.errors or [])
                if all(o.status == "duplicate" for o in mine) and mine:
                    text = "duplicate"
                if not item.errors:
                    keep.append(self._object_row(item.mapped, now))
            if item.errors:
                reason = "; ".join(f"{e.field}: {e.reason}" for e in item.errors)
                statuses.append(
                    response_status(
                        item.object_id,
                        path,
                        StatusCode.INVALID_JSON_CONTENT,
                        reason,
                        now,
                        self.timezone,
                    )
                )
            else:
                statuses.append(
                    response_status(item.object_id, path, StatusCode.OK, text, now, self.timezone)
                )
        if keep:
            with self.db.session() as session:
                ViidRepository(session).add_objects(keep)
        return statuses

    def _refuse_whole(
        self, exc: ViidRequestError, body: bytes, sender: str, content_type: str | None, path: str
    ) -> ViidReply:
        raw = body
        if exc.code == StatusCode.INVALID_JSON_CONTENT:
            try:  # a well-formed body is kept without the fields Zhian never stores
                raw = msgspec.json.encode(scrub(msgspec.json.decode(body)))
            except msgspec.DecodeError:
                raw = body
        self._intake.quarantine_whole(
            raw,
            source=SOURCE,
            sender_id=sender,
            content_type=_media(content_type),
            error=FieldError(exc.field, exc.reason),
        )
        return self._status(200, "", path, exc.code, _reason(exc))

    def _quarantine_object(
        self, item: object, errors: list[FieldError], sender: str, content_type: str | None
    ) -> None:
        first, *rest = errors or [FieldError("", "refused")]
        reason = "; ".join([first.reason, *(f"{e.field}: {e.reason}" for e in rest)])
        self._intake.quarantine_whole(
            msgspec.json.encode(scrub(item)),
            source=SOURCE,
            sender_id=sender,
            content_type=_media(content_type),
            error=FieldError(first.field, reason),
        )

    # --- queries --------------------------------------------------------------------------

    def readable_device_ids(self, requester: str) -> frozenset[str]:
        """The devices whose objects `requester` may read back (docs/interop-viid.md,
        "Who reads what"): a device its own objects; a lower platform its own and those
        of the devices registered behind it (whose `gateway_id` names it)."""
        devices = self._intake.directory.devices
        entry = devices.get(requester)
        if entry is None or not entry.is_enabled:
            return frozenset()
        behind = (device.id for device in devices.values() if device.gateway_id == requester)
        return frozenset({requester, *behind})

    def query(self, kind: ObjectKind, raw_query: str, path: str, *, requester: str) -> ViidReply:
        """GET /VIID/Faces?… and /VIID/MotorVehicles?…, both query syntaxes, paged; only
        objects of the devices `requester` may read (`readable_device_ids`)."""
        readable = self.readable_device_ids(requester)
        try:
            query = parse_query(
                raw_query,
                default_page_size=self.settings.page_size,
                max_page_size=self.settings.max_page_size,
            )
            for condition in query.conditions:
                named = condition.name == "DeviceID" and condition.op == "="
                if named and condition.value not in readable:
                    raise ViidRequestError(
                        StatusCode.INVALID_OPERATION,
                        "DeviceID",
                        f"'{condition.value}' is not a device whose objects "
                        f"{requester} may read (its own, or those behind it as a platform)",
                    )
            where = [self._condition(kind, c.name, c.op, c.value) for c in query.conditions]
            where.append(ViidObject.device_id.in_(sorted(readable)))
        except ViidRequestError as exc:
            return self._status(200, "", path, exc.code, _reason(exc))
        offset = query.start - 1
        limit = query.page_size
        if query.max_records is not None:
            limit = max(0, min(limit, query.max_records - offset))
        with self.db.session() as session:
            total, rows = ViidRepository(session).query_objects(kind.path, where, offset, limit)
            objects = [self._with_pictures(self.open_body(row)) for row in rows]
        if query.max_records is not None:
            total = min(total, query.max_records)
        return ViidReply(200, {kind.wrapper: {kind.item_keys[0]: objects, "TotalNum": total}})

    def _condition(self, kind: ObjectKind, name: str, op: str, value: str) -> ColumnElement[bool]:
        if name == "DeviceID" and op in ("=", "LIKE"):
            return (
                ViidObject.device_id.like(value) if op == "LIKE" else ViidObject.device_id == value
            )
        if name == kind.id_field and op == "=":
            return ViidObject.object_id == value
        if name in kind.time_fields or name in ("ShotTime", "PassTime"):
            try:
                moment = parse_time(value, self.timezone)
            except ValueError as exc:
                raise ViidRequestError(StatusCode.INVALID_OPERATION, name, str(exc)) from None
            column = ViidObject.shot_at
            comparisons = {
                "=": column == moment,
                ">=": column >= moment,
                "<=": column <= moment,
                ">": column > moment,
                "<": column < moment,
            }
            if op in comparisons:
                return comparisons[op]
        supported = f"DeviceID, {kind.id_field}, {', '.join(kind.time_fields)}"
        raise ViidRequestError(
            StatusCode.INVALID_OPERATION,
            name,
            f"'{op}' on it is not supported; query by {supported}",
        )

    def _object_row(self, mapped: MappedObject, now: datetime) -> dict[str, Any]:
        return {
            "kind": mapped.kind.path,
            "object_id": mapped.object_id,
            "device_id": mapped.device_id,
            "shot_at": mapped.shot_at,
            "received_at": now,
            "body_enc": self.seal_body(mapped.kind.path, mapped.object_id, mapped.stored),
        }

    def seal_body(self, kind: str, object_id: str, body: dict[str, Any]) -> bytes:
        """An object's body as it is kept: its JSON, sealed for its kind and id."""
        return self._cipher.seal_bytes(msgspec.json.encode(body), body_context(kind, object_id))

    def open_body(self, row: ViidObject) -> dict[str, Any]:
        """A kept object's body, opened (to answer a query or feed a subscription)."""
        opened = self._cipher.open_bytes(row.body_enc, body_context(row.kind, row.object_id))
        body: dict[str, Any] = msgspec.json.decode(opened)
        return body

    def seal_subscription(self, subscription_id: str, body: dict[str, Any]) -> bytes:
        """A subscription's request body as it is kept: its JSON, sealed for its id."""
        return self._cipher.seal_bytes(
            msgspec.json.encode(body), subscription_context(subscription_id)
        )

    def open_subscription(self, row: ViidSubscription) -> dict[str, Any]:
        """A kept subscription's request body, opened (its title for a notification)."""
        opened = self._cipher.open_bytes(row.body_enc, subscription_context(row.id))
        body: dict[str, Any] = msgspec.json.decode(opened)
        return body

    def _with_pictures(self, body: dict[str, Any]) -> dict[str, Any]:
        """A kept object with its stored pictures inlined again as base64 `Data`."""
        return with_pictures(body, self.images, declare="")

    def apes(self, requester: str) -> ViidReply:
        """GET /VIID/APEs: the devices holding a VIID credential that `requester` may see,
        with their online state: a device itself, a lower platform itself and the devices
        behind it (`readable_device_ids`), the upper platform this node reports to every
        one (its jurisdiction is the node's)."""
        upper = self.settings.upper_platform_id
        with self.db.session() as session:
            ids = set(ViidRepository(session).credential_device_ids())
            if not (upper and requester == upper):
                ids &= self.readable_device_ids(requester)
            devices = [
                d
                for d in DeviceService(session).list_devices(scope=JurisdictionScope.unscoped())
                if d.id in ids
            ]
        online = {s.device_id for s in self.sessions.live()}
        apes = [
            {
                "ApeID": d.id,
                "Name": d.name,
                "Longitude": d.longitude,
                "Latitude": d.latitude,
                "FunctionType": _FUNCTION_TYPES.get(str(d.kind), "99"),
                "IsOnline": "1" if d.id in online else "0",
            }
            for d in devices
        ]
        return ViidReply(200, {"APEListObject": {"APEObject": apes, "TotalNum": len(apes)}})


def with_pictures(body: dict[str, Any], images: ImageStore, *, declare: str) -> dict[str, Any]:
    """Inline stored pictures as `Data`; `declare` is a ResultImageDeclare ("-1": none)."""
    subs = body.get("SubImageList")
    if not isinstance(subs, dict) or not isinstance(subs.get("SubImageInfoObject"), list):
        return body
    if declare.strip() == "-1":
        return {k: v for k, v in body.items() if k != "SubImageList"}
    wanted = {c.strip().zfill(2) for c in declare.split(",") if c.strip()}
    inlined: list[dict[str, Any]] = []
    for sub in subs["SubImageInfoObject"]:
        code = str(sub.get("Type", "")).zfill(2)
        if wanted and code not in wanted:
            continue
        ref = sub.get("StoragePath")
        if isinstance(ref, str) and images.exists(ref):
            sub = {**sub, "Data": base64.b64encode(images.read(ref)).decode("ascii")}
        inlined.append(sub)
    return {**body, "SubImageList": {"SubImageInfoObject": inlined}}


def _reason(exc: ViidRequestError) -> str:
    return f"{exc.field}: {exc.reason}" if exc.field else exc.reason


def _media(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()[:64] or "application/json"
