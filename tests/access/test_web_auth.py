"""The sign-in pages, the session cookie and the role guards, on a tiny app."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Annotated

import pytest
from argon2 import PasswordHasher
from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from httpx import ASGITransport, AsyncClient

from zhian.access.models import User
from zhian.access.roles import Role
from zhian.access.service import AccessService, UserRead
from zhian.config import load_settings
from zhian.db.base import Base
from zhian.db.engine import Database, make_engine
from zhian.errors import ZhianError
from zhian.kit.clock import ManualClock
from zhian.registry.models import Jurisdiction
from zhian.web.auth import SESSION_COOKIE, CurrentUser, install, require_roles

NOW = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)
PASSWORD = "correct horse"
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)

# httpx against the ASGI app directly: starlette's AsyncClient now warns without `httpx2`.
pytestmark = pytest.mark.anyio


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    engine = make_engine(f"sqlite:///{tmp_path / 'zhian.db'}")
    Base.metadata.create_all(engine)
    database = Database(engine)
    with database.session() as session:
        session.add(Jurisdiction(id="station-1", parent_id=None, level="station", name="东城"))
        service = AccessService(session, password_hasher=FAST_HASHER)
        service.create_user(
            "grid", PASSWORD, role=Role.GRID_WORKER, jurisdiction_id="station-1", now=NOW
        )
        service.create_user("root", PASSWORD, role=Role.ADMIN, jurisdiction_id=None, now=NOW)
    yield database
    database.dispose()


def make_app(db: Database, tmp_path: Path, secret_key: str = "x" * 32) -> FastAPI:
    app = FastAPI()
    app.state.node = SimpleNamespace(
        db=db,
        # CSRF is tested with the real app in test_security.py; here sign-in alone.
        settings=load_settings(tmp_path, web={"secret_key": secret_key, "csrf_enforced": False}),
        clock=ManualClock(NOW),
        wall_clock=ManualClock(NOW),
    )
    install(app)

    @app.exception_handler(ZhianError)
    async def zhian_error(_request: Request, exc: ZhianError) -> JSONResponse:
        return JSONResponse({"error": exc.to_dict()}, status_code=exc.status_code)

    @app.get("/protected")
    def protected(user: CurrentUser) -> PlainTextResponse:
        return PlainTextResponse(f"hello {user.username}")

    @app.get("/api/v1/me")
    def me(user: CurrentUser) -> dict[str, str]:
        return {"username": user.username}

    @app.get("/admin")
    def admin(
        user: Annotated[UserRead, Depends(require_roles(Role.ADMIN, Role.AUDITOR))],
    ) -> PlainTextResponse:
        return PlainTextResponse(f"admin {user.username}")

    return app


def make_client(app: FastAPI, base_url: str = "http://testserver") -> AsyncClient:
    return AsyncClient(transport=ASGITransport(app=app), base_url=base_url)


@pytest.fixture
async def client(db: Database, tmp_path: Path) -> AsyncIterator[AsyncClient]:
    async with make_client(make_app(db, tmp_path)) as test_client:
        yield test_client


async def sign_in(
    client: AsyncClient, username: str = "grid", next_url: str = "/protected"
) -> None:
    response = await client.post(
        "/login", data={"username": username, "password": PASSWORD, "next": next_url}
    )
    assert response.status_code == 303, response.text
    assert response.headers["location"] == next_url


async def test_login_page_speaks_chinese_by_default_and_english_on_request(
    client: AsyncClient,
) -> None:
    page = await client.get("/login")
    assert page.status_code == 200
    assert '<html lang="zh-CN">' in page.text and "用户名" in page.text
    assert 'name="viewport"' in page.text
    assert "http://" not in page.text and "https://" not in page.text  # no external assets
    english = await client.get("/login", params={"lang": "en", "next": "/protected"})
    assert "Username" in english.text and 'value="/protected"' in english.text


async def test_anonymous_page_redirects_to_login_and_api_answers_401(client: AsyncClient) -> None:
    page = await client.get("/protected", params={"lang": "en"})
    assert page.status_code == 303
    assert page.headers["location"] == "/login?next=%2Fprotected%3Flang%3Den&lang=en"
    api = await client.get("/api/v1/me")
    assert api.status_code == 401
    assert api.json()["error"]["code"] == "unauthorized"


async def test_sign_in_sets_a_strict_cookie_and_opens_the_page(client: AsyncClient) -> None:
    response = await client.post(
        "/login", data={"username": "GRID", "password": PASSWORD, "next": "/protected"}
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/protected"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=")
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Max-Age=43200" in cookie
    assert "Secure" not in cookie  # plain http in this test
    assert (await client.get("/protected")).text == "hello grid"
    assert (await client.get("/api/v1/me")).json() == {"username": "grid"}


async def test_cookie_is_secure_over_https(db: Database, tmp_path: Path) -> None:
    app = make_app(db, tmp_path)
    async with make_client(app, "https://testserver") as client:
        response = await client.post("/login", data={"username": "grid", "password": PASSWORD})
        assert response.headers["location"] == "/"
        assert "Secure" in response.headers["set-cookie"]


async def test_wrong_password_re_renders_the_form_with_401(client: AsyncClient) -> None:
    for username, password in [("grid", "wrong password"), ("nobody", PASSWORD), ("", "")]:
        response = await client.post("/login", data={"username": username, "password": password})
        assert response.status_code == 401
        assert "用户名或密码错误" in response.text
        assert SESSION_COOKIE not in response.headers.get("set-cookie", "")
    english = await client.post(
        "/login", data={"username": "grid", "password": "nope nope", "lang": "en"}
    )
    assert english.status_code == 401 and "Wrong username or password" in english.text
    assert 'value="grid"' in english.text


async def test_next_never_leaves_the_site(client: AsyncClient) -> None:
    for evil in ["//evil.example/x", "https://evil.example/", "/\\evil.example", "protected"]:
        response = await client.post(
            "/login", data={"username": "grid", "password": PASSWORD, "next": evil}
        )
        assert response.headers["location"] == "/"


async def test_tampered_or_foreign_cookie_is_refused(client: AsyncClient, db: Database) -> None:
    await sign_in(client)
    token = client.cookies[SESSION_COOKIE]
    client.cookies.set(SESSION_COOKIE, token[:-2] + ("AA" if token[-2:] != "AA" else "BB"))
    assert (await client.get("/protected")).status_code == 303
    assert (await client.get("/api/v1/me")).status_code == 401

    other_key = make_app(db, Path("/nonexistent"), secret_key="y" * 32)
    async with make_client(other_key) as other:
        await sign_in(other)
        client.cookies.set(SESSION_COOKIE, other.cookies[SESSION_COOKIE])
    assert (await client.get("/protected")).status_code == 303


async def test_logout_clears_the_session(client: AsyncClient) -> None:
    await sign_in(client)
    response = await client.post("/logout")
    assert response.status_code == 303 and response.headers["location"] == "/login"
    assert f'{SESSION_COOKIE}=""' in response.headers["set-cookie"]
    assert "Max-Age=0" in response.headers["set-cookie"]
    assert SESSION_COOKIE not in client.cookies
    assert (await client.get("/protected")).status_code == 303


async def test_deactivated_user_loses_the_session_at_once(
    client: AsyncClient, db: Database
) -> None:
    await sign_in(client)
    with db.session() as session:
        for user in session.query(User).filter_by(username="grid"):
            user.is_active = False
    assert (await client.get("/protected")).status_code == 303


async def test_role_guard_answers_403_to_other_roles(client: AsyncClient) -> None:
    assert (await client.get("/admin")).status_code == 303  # anonymous: sign in first
    await sign_in(client)
    refused = await client.get("/admin")
    assert refused.status_code == 403
    error = refused.json()["error"]
    assert error["code"] == "forbidden"
    assert "admin, auditor" in error["message"] and "grid_worker" in error["message"]
    await sign_in(client, "root", "/admin")
    assert (await client.get("/admin")).text == "admin root"


async def test_empty_secret_key_is_a_clear_configuration_error(
    db: Database, tmp_path: Path
) -> None:
    async with make_client(make_app(db, tmp_path, secret_key="")) as client:
        response = await client.post("/login", data={"username": "grid", "password": PASSWORD})
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "configuration_error"
    assert "ZHIAN_WEB__SECRET_KEY" in response.json()["error"]["message"]


def test_require_roles_needs_a_role() -> None:
    with pytest.raises(ValueError, match="at least one role"):
        require_roles()
