"""Web Push of new alerts, dispatches and escalations, tested against a local receiver that
speaks the protocol: it checks the VAPID JWT (ES256, RFC 8292) against the node's public
key and decrypts the `aes128gcm` body (RFC 8291) with the keys a browser would have made."""

from __future__ import annotations

import base64
import json
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import http_ece
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from fastapi.testclient import TestClient

from tests.web.conftest import (
    FAST_HASHER,
    PASSWORD,
    alarm_event,
    log_in,
    submit,
    wait_for_alert,
)
from zhian.access.service import AccessService
from zhian.kit.clock import ManualClock
from zhian.node import Node

SUBJECT = "mailto:duty@zhian.test"


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Browser:
    """What a browser makes when it subscribes: an ECDH key pair and an auth secret."""

    private_key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )
    auth: bytes = field(default_factory=lambda: os.urandom(16))

    def keys(self) -> dict[str, str]:
        public = self.private_key.public_key().public_bytes(
            Encoding.X962, PublicFormat.UncompressedPoint
        )
        return {"p256dh": b64url(public), "auth": b64url(self.auth)}


@dataclass
class Receiver:
    """A push service on loopback: records each request; answers `status`."""

    server: ThreadingHTTPServer
    received: list[tuple[str, dict[str, str], bytes]] = field(default_factory=list)
    status: int = 201

    @property
    def origin(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def endpoint(self, name: str) -> str:
        return f"{self.origin}/push/{name}"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    holder: dict[str, Receiver] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            target = holder["receiver"]
            headers = {name.lower(): value for name, value in self.headers.items()}
            target.received.append((self.path, headers, body))
            self.send_response(target.status)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    holder["receiver"] = Receiver(server)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield holder["receiver"]
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def pushing(node: Node, receiver: Receiver) -> Node:
    node.settings.push.endpoint_hosts = ["127.0.0.1"]
    node.settings.push.allow_http_endpoints = True
    node.settings.push.subject = SUBJECT
    return node


def subscribe(client: TestClient, endpoint: str, browser: Browser) -> Any:
    return client.post(
        "/api/v1/push/subscriptions", json={"endpoint": endpoint, "keys": browser.keys()}
    )


def verify_vapid(authorization: str, audience: str, public_key_b64: str) -> dict[str, Any]:
    """The JWT's claims, after checking its ES256 signature with the key it names."""
    scheme, _, params = authorization.partition(" ")
    assert scheme == "vapid"
    fields = dict(part.strip().split("=", 1) for part in params.split(","))
    assert fields["k"] == public_key_b64
    header_b64, claims_b64, signature_b64 = fields["t"].split(".")
    assert json.loads(unb64url(header_b64)) == {"typ": "JWT", "alg": "ES256"}
    signature = unb64url(signature_b64)
    assert len(signature) == 64
    der = encode_dss_signature(
        int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
    )
    public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64url(fields["k"]))
    public.verify(der, f"{header_b64}.{claims_b64}".encode(), ec.ECDSA(hashes.SHA256()))
    claims: dict[str, Any] = json.loads(unb64url(claims_b64))
    assert claims["aud"] == audience and claims["sub"] == SUBJECT
    assert time.time() < claims["exp"] <= time.time() + 24 * 3600
    return claims


def test_a_new_alert_is_pushed_encrypted_and_signed_to_its_responders(
    client: TestClient, pushing: Node, receiver: Receiver, clock: ManualClock
) -> None:
    command, grid = Browser(), Browser()
    log_in(client, "command")
    key = client.get("/api/v1/push/key").json()["public_key"]
    assert len(unb64url(key)) == 65
    assert subscribe(client, receiver.endpoint("command"), command).status_code == 201
    log_in(client, "grid")
    assert subscribe(client, receiver.endpoint("grid"), grid).status_code == 201

    submit(pushing, alarm_event("push-fire", clock.now(), kind="fire"))
    fire = wait_for_alert(pushing, "alarm_fire")  # major: the command centre's
    assert pushing.alert_loop.push is not None
    pushing.alert_loop.push.wait_idle()
    assert [path for path, _h, _b in receiver.received] == ["/push/command"]
    _path, headers, body = receiver.received[0]
    verify_vapid(headers["authorization"], receiver.origin, key)
    assert headers["content-encoding"] == "aes128gcm" and int(headers["ttl"]) > 0
    clear = http_ece.decrypt(
        body, private_key=command.private_key, auth_secret=command.auth, version="aes128gcm"
    )
    message = json.loads(clear)
    assert message["alert_id"] == fire.id and message["tier"] == "major"
    assert message["url"] == f"/alerts/{fire.id}" and message["title_zh"]
    assert b"alert_id" not in body  # nothing readable on the way

    submit(pushing, alarm_event("push-tamper", clock.now(), kind="tamper", device_id="CAM1"))
    wait_for_alert(pushing, "alarm_tamper")  # minor: the grid worker's
    pushing.alert_loop.push.wait_idle()
    assert [path for path, _h, _b in receiver.received] == ["/push/command", "/push/grid"]


def test_a_subscription_the_push_service_forgot_is_dropped(
    client: TestClient, pushing: Node, receiver: Receiver, clock: ManualClock
) -> None:
    log_in(client, "command")
    assert subscribe(client, receiver.endpoint("gone"), Browser()).status_code == 201
    receiver.status = 410
    submit(pushing, alarm_event("push-gone", clock.now(), kind="fire"))
    wait_for_alert(pushing, "alarm_fire")
    assert pushing.alert_loop.push is not None
    pushing.alert_loop.push.wait_idle()
    assert len(receiver.received) == 1
    log_in(client, "command")
    again = client.post(
        "/api/v1/push/subscriptions/remove", json={"endpoint": receiver.endpoint("gone")}
    )
    assert again.json() == {"removed": 0}  # already dropped by the notifier


def test_subscriptions_only_to_push_services_and_only_with_well_formed_keys(
    client: TestClient, node: Node
) -> None:
    log_in(client, "command")
    browser = Browser()
    internal = subscribe(client, "https://10.0.0.5/admin", browser)
    assert internal.status_code == 400 and internal.json()["error"]["field"] == "endpoint"
    plain = subscribe(client, "http://fcm.googleapis.com/fcm/send/x", browser)
    assert plain.status_code == 400
    lookalike = subscribe(client, "https://fcm.googleapis.com.evil.example/x", browser)
    assert lookalike.status_code == 400
    bad_key = client.post(
        "/api/v1/push/subscriptions",
        json={
            "endpoint": "https://fcm.googleapis.com/fcm/send/abc",
            "keys": {"p256dh": "not-a-key", "auth": browser.keys()["auth"]},
        },
    )
    assert bad_key.status_code == 400 and bad_key.json()["error"]["field"] == "p256dh"
    good = subscribe(client, "https://fcm.googleapis.com/fcm/send/abc", browser)
    assert good.status_code == 201
    log_in(client, "analyst")
    assert client.get("/api/v1/push/key").status_code == 200  # analysts see alerts
    client.cookies.clear()
    assert client.get("/api/v1/push/key").status_code == 401


def decrypted(receiver: Receiver, index: int, browser: Browser) -> dict[str, Any]:
    _path, _headers, body = receiver.received[index]
    clear = http_ece.decrypt(
        body, private_key=browser.private_key, auth_secret=browser.auth, version="aes128gcm"
    )
    message: dict[str, Any] = json.loads(clear)
    return message


def test_an_escalation_and_a_dispatch_to_you_are_pushed_to_whom_they_concern(
    client: TestClient, pushing: Node, receiver: Receiver, clock: ManualClock
) -> None:
    browsers = {name: Browser() for name in ("command", "station", "grid")}
    for name, browser in browsers.items():
        log_in(client, name)
        assert subscribe(client, receiver.endpoint(name), browser).status_code == 201
    with pushing.db.session() as session:
        ids = {user.username: user.id for user in AccessService(session).list_users()}
    push = pushing.alert_loop.push
    assert push is not None

    def notices(alert_id: int) -> list[tuple[str, str]]:
        """(whose phone, notice type) of every push about one alert, in order (the
        devices falling silent while the clock jumps raise alerts of their own)."""
        push.wait_idle()
        found = []
        for index, (path, _h, _b) in enumerate(receiver.received):
            name = path.rsplit("/", 1)[1]
            message = decrypted(receiver, index, browsers[name])
            if message["alert_id"] == alert_id:
                found.append((name, message["type"]))
        return found

    submit(pushing, alarm_event("push-tamper", clock.now(), kind="tamper", device_id="CAM1"))
    tamper = wait_for_alert(pushing, "alarm_tamper")  # minor, at J-STATION: the grid worker's
    assert notices(tamper.id) == [("grid", "alert.created")]

    # Nobody signed in time: the alert is escalated to J-CITY, whose command centre (a user
    # placed there who may dispatch) gets the notice; the grid worker and the station
    # officer do not.
    clock.advance(timedelta(hours=6))
    with pushing.alerts() as alerts:
        assert alerts.check_deadlines(clock.now())[1] >= 1
    assert notices(tamper.id) == [("grid", "alert.created"), ("command", "alert.escalated")]

    # The station officer signs and dispatches it to the grid worker: the grid worker's
    # phone is told; a dispatch to oneself pushes nothing.
    log_in(client, "station")
    assert client.post(f"/api/v1/alerts/{tamper.id}/sign", json={}).status_code == 200
    dispatched = client.post(
        f"/api/v1/alerts/{tamper.id}/dispatch", json={"assignee_id": ids["grid"]}
    )
    assert dispatched.status_code == 200, dispatched.text
    assert notices(tamper.id)[2:] == [("grid", "alert.dispatched")]
    index = next(
        i
        for i, (path, _h, _b) in enumerate(receiver.received)
        if path == "/push/grid"
        and decrypted(receiver, i, browsers["grid"])["type"] == "alert.dispatched"
    )
    notice = decrypted(receiver, index, browsers["grid"])
    assert notice["url"] == f"/alerts/{tamper.id}" and notice["title_zh"]

    submit(pushing, alarm_event("push-tamper-2", clock.now(), kind="tamper", device_id="DOOR1"))
    second = wait_for_alert(pushing, "alarm_tamper")
    assert second.id != tamper.id
    assert client.post(f"/api/v1/alerts/{second.id}/sign", json={}).status_code == 200
    assert client.post(f"/api/v1/alerts/{second.id}/dispatch", json={}).status_code == 200
    assert notices(second.id) == [("grid", "alert.created")]  # to oneself: no notice


def test_a_minor_alert_is_the_property_staffs_too_on_their_phone_and_pushed(
    client: TestClient, pushing: Node, receiver: Receiver, clock: ManualClock
) -> None:
    # The routing: minor → grid worker and property.
    with pushing.db.session() as session:
        AccessService(session, password_hasher=FAST_HASHER).create_user(
            "estate",
            PASSWORD,
            role="property_security",
            jurisdiction_id="J-STATION",
            display_name="测试·estate",
            now=clock.now(),
        )
    browsers = {"grid": Browser(), "estate": Browser()}
    for name, browser in browsers.items():
        log_in(client, name)
        assert subscribe(client, receiver.endpoint(name), browser).status_code == 201

    submit(pushing, alarm_event("push-tamper", clock.now(), kind="tamper", device_id="CAM1"))
    tamper = wait_for_alert(pushing, "alarm_tamper")  # minor: the grid worker's
    submit(pushing, alarm_event("push-fire", clock.now(), kind="fire"))
    fire = wait_for_alert(pushing, "alarm_fire")  # major: the command centre's only
    assert pushing.alert_loop.push is not None
    pushing.alert_loop.push.wait_idle()
    pushed = sorted(
        (path.rsplit("/", 1)[1], decrypted(receiver, i, browsers[path.rsplit("/", 1)[1]]))
        for i, (path, _h, _b) in enumerate(receiver.received)
    )
    assert [(name, message["alert_id"]) for name, message in pushed] == [
        ("estate", tamper.id),
        ("grid", tamper.id),
    ]
    # The property staff's phone lists it with the steps they may take, not the major one.
    phone = client.get("/phone")  # signed in as "estate", the last log_in above
    assert phone.status_code == 200
    assert f'data-alert-id="{tamper.id}"' in phone.text
    assert f'data-alert-id="{fire.id}"' not in phone.text
    assert client.post(f"/api/v1/alerts/{tamper.id}/sign", json={}).status_code == 200
