"""GA/T 1400 peers for tests: a camera emulator, a notification receiver, an upper platform.

Written from the protocol notes (shared/protocols/gat1400.md), deliberately without
importing any of Zhian's own VIID code, so the conformance tests check Zhian against the
notes and not against itself.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
import secrets
import threading
from dataclasses import dataclass
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
from PIL import Image

VIID_JSON = "application/VIID+JSON;charset=UTF-8"


def _md5(text: str) -> str:
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


def digest_params(header: str) -> dict[str, str]:
    """Parameters of a Digest header; values quoted with " or ' or bare (notes §2.2)."""
    _scheme, _, rest = header.strip().partition(" ")
    found = re.findall(r"""(\w+)\s*=\s*("[^"]*"|'[^']*'|[^,\s]+)""", rest)
    return {k.lower(): v.strip("\"'") for k, v in found}


def jpeg_bytes(width: int = 32, height: int = 32, shade: int = 128) -> bytes:
    """A small, real JPEG picture."""
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (shade, 90, 200 - shade // 2)).save(buffer, "JPEG")
    return buffer.getvalue()


def compact(moment: datetime) -> str:
    return moment.strftime("%Y%m%d%H%M%S")


class DeviceEmulator:
    """A GA/T 1400 camera or lower platform talking to a VIID server over `http`."""

    def __init__(
        self,
        http: httpx.Client,
        device_id: str,
        password: str,
        *,
        username: str | None = None,
        full_url_uri: bool = False,
        quote_nc: bool = False,
    ) -> None:
        self.http = http
        self.device_id = device_id
        self.username = username or device_id
        self.password = password
        self.full_url_uri = full_url_uri  # haoxianrui/gat1400 sends the full URL as uri
        self.quote_nc = quote_nc  # fliad quotes nc and qop
        self._serial = 0

    def headers(self, content_type: str = VIID_JSON) -> dict[str, str]:
        return {
            "Content-Type": content_type,
            "Accept": "application/json,application/VIID+json",
            "User-Identify": self.device_id,
        }

    # --- system ---------------------------------------------------------------------------

    def register(self, password: str | None = None) -> tuple[httpx.Response, httpx.Response]:
        """The two-step Register: the 401 challenge, then the Digest answer."""
        path = "/VIID/System/Register"
        body = json.dumps({"RegisterObject": {"DeviceID": self.device_id}})
        first = self.http.post(path, content=body, headers=self.headers())
        challenge = digest_params(first.headers.get("WWW-Authenticate", "Digest "))
        uri = str(self.http.base_url).rstrip("/") + path if self.full_url_uri else path
        cnonce = secrets.token_hex(8)
        nc = "00000001"
        ha1 = _md5(f"{self.username}:{challenge.get('realm', '')}:{password or self.password}")
        ha2 = _md5(f"POST:{uri}")
        response = _md5(f"{ha1}:{challenge.get('nonce', '')}:{nc}:{cnonce}:auth:{ha2}")
        nc_part = f'nc="{nc}", qop="auth"' if self.quote_nc else f"nc={nc}, qop=auth"
        authorization = (
            f'Digest username="{self.username}", realm="{challenge.get("realm", "")}", '
            f'nonce="{challenge.get("nonce", "")}", uri="{uri}", {nc_part}, '
            f'cnonce="{cnonce}", response="{response}"'
        )
        if "opaque" in challenge:
            authorization += f', opaque="{challenge["opaque"]}"'
        second = self.http.post(
            path, content=body, headers={**self.headers(), "Authorization": authorization}
        )
        return first, second

    def keepalive(self) -> httpx.Response:
        body = json.dumps({"KeepaliveObject": {"DeviceID": self.device_id}})
        return self.http.post("/VIID/System/Keepalive", content=body, headers=self.headers())

    def unregister(self) -> httpx.Response:
        body = json.dumps({"UnRegisterObject": {"DeviceID": self.device_id}})
        return self.http.post("/VIID/System/UnRegister", content=body, headers=self.headers())

    def post(self, path: str, body: bytes | str | dict[str, Any], **kwargs: str) -> httpx.Response:
        content = json.dumps(body, ensure_ascii=False) if isinstance(body, dict) else body
        headers = self.headers(kwargs.get("content_type", VIID_JSON))
        return self.http.post(path, content=content, headers=headers)

    # --- objects (IDs per notes §4.2–4.3) -------------------------------------------------

    def image_id(self, shot_at: datetime) -> str:
        self._serial += 1
        return f"{self.device_id}02{compact(shot_at)}{self._serial:05d}"

    def object_id(self, source_id: str, type_code: str) -> str:
        self._serial += 1
        return f"{source_id}{type_code}{self._serial:05d}"

    def sub_image(
        self, image_id: str, image_type: str, shot_at: datetime, data: bytes
    ) -> dict[str, Any]:
        return {
            "ImageID": image_id,
            "EventSort": 10,
            "DeviceID": self.device_id,
            "StoragePath": "",
            "Type": image_type,
            "FileFormat": "Jpeg",
            "ShotTime": compact(shot_at),
            "Width": 32,
            "Height": 32,
            "Data": base64.b64encode(data).decode("ascii"),
        }

    def face(self, shot_at: datetime, *, with_images: bool = True, **extra: Any) -> dict[str, Any]:
        """A FaceObject with a Type 14 scene and a Type 11 face crop (notes §3.4, §3.7)."""
        scene_id = self.image_id(shot_at)
        face: dict[str, Any] = {
            "FaceID": self.object_id(scene_id, "06"),
            "InfoKind": 1,
            "SourceID": scene_id,
            "DeviceID": self.device_id,
            "LeftTopX": 1,
            "LeftTopY": 1,
            "RightBtmX": 20,
            "RightBtmY": 20,
            "LocationMarkTime": compact(shot_at),
            "FaceAppearTime": compact(shot_at),
            "FaceDisAppearTime": compact(shot_at),
            "GenderCode": "1",
            "IsDriver": 2,
        }
        if with_images:
            face["SubImageList"] = {
                "SubImageInfoObject": [
                    self.sub_image(scene_id, "14", shot_at, jpeg_bytes(64, 48, 60)),
                    self.sub_image(self.image_id(shot_at), "11", shot_at, jpeg_bytes(shade=200)),
                ]
            }
        face.update(extra)
        return face

    def motor_vehicle(
        self, shot_at: datetime, plate: str = "浙A12345", **extra: Any
    ) -> dict[str, Any]:
        """A MotorVehicleObject with a Type 01 picture (notes §3.6)."""
        scene_id = self.image_id(shot_at)
        vehicle: dict[str, Any] = {
            "MotorVehicleID": self.object_id(scene_id, "02"),
            "InfoKind": 1,
            "SourceID": scene_id,
            "DeviceID": self.device_id,
            "TollgateID": self.device_id,
            "StorageUrl1": "",
            "PassTime": compact(shot_at),
            "LaneNo": 1,
            "HasPlate": "1",
            "PlateClass": "02",
            "PlateColor": "5",
            "PlateNo": plate,
            "Direction": "1",
            "VehicleClass": "K33",
            "VehicleColor": "2",
            "SubImageList": {
                "SubImageInfoObject": [self.sub_image(scene_id, "01", shot_at, jpeg_bytes(80, 60))]
            },
        }
        vehicle.update(extra)
        return vehicle


def statuses(reply: object) -> list[dict[str, Any]]:
    """Every ResponseStatusObject of a reply (either list spelling; notes §3.1)."""
    if not isinstance(reply, dict):
        return []
    if isinstance(reply.get("ResponseStatusObject"), dict):
        return [reply["ResponseStatusObject"]]
    for wrapper in ("ResponseStatusListObject", "ResponseStatusList"):
        inner = reply.get(wrapper)
        if isinstance(inner, dict):
            listed = inner.get("ResponseStatusObject", [])
            return listed if isinstance(listed, list) else [listed]
    return []


def _ok_list(ids: list[str], url: str) -> bytes:
    return json.dumps(
        {
            "ResponseStatusListObject": {
                "ResponseStatusObject": [
                    {"Id": i, "RequestURL": url, "StatusCode": "0", "StatusString": "OK"}
                    for i in ids
                ]
            }
        }
    ).encode()


@dataclass
class _Received:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


class _Server:
    """A ThreadingHTTPServer on 127.0.0.1 in a thread; stop() and start() keep the port."""

    def __init__(self, port: int = 0) -> None:
        self.port = port
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def handle(
        self, handler: BaseHTTPRequestHandler, body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        raise NotImplementedError

    def start(self) -> None:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                status, headers, payload = owner.handle(self, self.rfile.read(length))
                self.send_response(status)
                for name, value in {"Content-Type": VIID_JSON, **headers}.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


class NotificationReceiver(_Server):
    """A subscriber's ReceiveAddr: keeps every SubscribeNotifications POST, answers OK.

    `fail_next` refuses that many POSTs first (HTTP 503), to exercise retries;
    `nest_next` answers that many with 200 and a reply nested 100,000 levels deep (hostile).
    """

    def __init__(self) -> None:
        super().__init__()
        self.received: list[_Received] = []
        self.fail_next = 0
        self.nest_next = 0
        self._lock = threading.Lock()

    def handle(
        self, handler: BaseHTTPRequestHandler, body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        with self._lock:
            if self.fail_next > 0:
                self.fail_next -= 1
                return 503, {}, b""
            if self.nest_next > 0:
                self.nest_next -= 1
                return 200, {}, b"[" * 100_000 + b"]" * 100_000
            parsed = json.loads(body)
            self.received.append(_Received(handler.path, dict(handler.headers), parsed))
        notifications = parsed["SubscribeNotificationListObject"]["SubscribeNotificationObject"]
        return 200, {}, _ok_list([n["NotificationID"] for n in notifications], handler.path)

    def object_ids(self, list_name: str = "FaceObjectList", item: str = "FaceObject") -> list[str]:
        ids: list[str] = []
        for received in self.received:
            for n in received.body["SubscribeNotificationListObject"][
                "SubscribeNotificationObject"
            ]:
                for obj in n.get(list_name, {}).get(item, []):
                    ids.append(
                        next(v for k, v in obj.items() if k.endswith("ID") and len(str(v)) == 48)
                    )
        return ids


class FakeUpperPlatform(_Server):
    """An upper VIID platform: Digest Register, Keepalive, SubscribeNotifications receiver.

    Its sessions live in memory, so after stop()/start() our client must register again.
    `reply_shape` picks how it acknowledges, as upper platforms in the field do
    (protocols/gat1400.md, "Deviations to tolerate"): "wrapped" (the standard
    `ResponseStatusObject`, StatusCode as the string "0"), "bare" (the status object without
    its wrapper) or "list" (a bare list of status objects).
    """

    def __init__(
        self,
        *,
        username: str,
        password: str,
        realm: str = "upper-viid",
        reply_shape: str = "wrapped",
    ) -> None:
        super().__init__()
        self.username = username
        self.password = password
        self.realm = realm
        self.reply_shape = reply_shape
        self.received: list[_Received] = []
        self.registrations = 0
        self.register_requests = 0  # every Register POST, challenged, refused or accepted
        self._sessions: set[str] = set()
        self._nonces: set[str] = set()
        self._lock = threading.Lock()

    def start(self) -> None:
        with self._lock:
            self._sessions.clear()
            self._nonces.clear()
        super().start()

    def handle(
        self, handler: BaseHTTPRequestHandler, body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        who = handler.headers.get("User-Identify", "")
        path = handler.path
        if path == "/VIID/System/Register":
            with self._lock:
                self.register_requests += 1
            return self._register(handler, who)
        with self._lock:
            known = who in self._sessions
        if not known:
            return 401, {}, b""
        if path == "/VIID/System/Keepalive":
            return 200, {}, _ok_list([who], path)
        if path == "/VIID/System/UnRegister":
            with self._lock:
                self._sessions.discard(who)
            return 200, {}, _ok_list([who], path)
        parsed = json.loads(body)
        with self._lock:
            self.received.append(_Received(path, dict(handler.headers), parsed))
        notifications = parsed["SubscribeNotificationListObject"]["SubscribeNotificationObject"]
        return 200, {}, _ok_list([n["NotificationID"] for n in notifications], path)

    def _register(
        self, handler: BaseHTTPRequestHandler, who: str
    ) -> tuple[int, dict[str, str], bytes]:
        header = handler.headers.get("Authorization")
        if not header:
            nonce = secrets.token_hex(16)
            with self._lock:
                self._nonces.add(nonce)
            # single quotes, as one Go server sends them (notes §2.2)
            challenge = f"Digest realm='{self.realm}', qop='auth', nonce='{nonce}'"
            return 401, {"WWW-Authenticate": challenge}, b""
        params = digest_params(header)
        ha1 = _md5(f"{self.username}:{self.realm}:{self.password}")
        ha2 = _md5(f"POST:{params.get('uri', '')}")
        expected = _md5(
            f"{ha1}:{params.get('nonce')}:{params.get('nc')}:{params.get('cnonce')}:auth:{ha2}"
        )
        with self._lock:
            fresh = params.get("nonce") in self._nonces
            if (
                fresh
                and params.get("response") == expected
                and params.get("username") == self.username
            ):
                self._sessions.add(who)
                self.registrations += 1
                ok = True
            else:
                ok = False
        if not ok:
            return 401, {}, b""
        status = {"Id": who, "StatusCode": "0", "StatusString": "OK"}
        reply: object = {"ResponseStatusObject": status}
        if self.reply_shape == "bare":
            reply = status
        elif self.reply_shape == "list":
            reply = [status]
        return 200, {}, json.dumps(reply).encode()

    def notification_ids(self) -> list[str]:
        return [
            n["NotificationID"]
            for r in self.received
            for n in r.body["SubscribeNotificationListObject"]["SubscribeNotificationObject"]
        ]

    def face_ids(self) -> list[str]:
        return [
            face["FaceID"]
            for r in self.received
            for n in r.body["SubscribeNotificationListObject"]["SubscribeNotificationObject"]
            for face in n.get("FaceObjectList", {}).get("FaceObject", [])
        ]
