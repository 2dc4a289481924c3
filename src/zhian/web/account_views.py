"""The signed-in user's own account: changing one's password from the pages.

The current password is asked first and counts towards the sign-in lockout like a failed
sign-in (a copied cookie must not let its holder guess the password, nor set a new one).
A change ends every session of the user (a thief's copy included) and opens a new one for
this browser, so the person who changed it stays signed in here.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from zhian.access.service import MAX_PASSWORD_CHARS, MIN_PASSWORD_CHARS, AccessService
from zhian.audit.service import Actor
from zhian.web.auth import (
    current_user,
    lockout_policy,
    set_session_cookie,
    start_browser_session,
)
from zhian.web.i18n import add_texts
from zhian.web.layout import Page, PageDep

router = APIRouter(tags=["pages"], dependencies=[Depends(current_user)])

ACCOUNT_TEXT: dict[str, tuple[str, str]] = {
    "acc_password_title": ("修改密码", "Change password"),
    "acc_password_link": ("修改密码", "Password"),
    "acc_current": ("原密码", "Current password"),
    "acc_new": ("新密码", "New password"),
    "acc_repeat": ("再次输入新密码", "New password again"),
    "acc_submit": ("修改", "Change"),
    "acc_note": (
        "新密码至少 {min} 个字符。修改后，本账号在其他浏览器和设备上的登录全部失效。",
        "At least {min} characters. Once changed, every other session of this account "
        "(other browsers and devices) ends.",
    ),
    "acc_changed": (
        "密码已修改，其他登录会话已失效。",
        "Password changed; every other session has ended.",
    ),
    "acc_wrong_current": ("原密码错误", "The current password is wrong"),
    "acc_locked": (
        "输错次数过多，账号已临时锁定，请于{minutes}分钟后重试",
        "Too many wrong passwords: the account is locked; try again in {minutes} min",
    ),
    "acc_too_short": (
        "新密码至少 {min} 个字符",
        "The new password needs at least {min} characters",
    ),
    "acc_too_long": (
        "新密码最多 {max} 个字符",
        "The new password may have at most {max} characters",
    ),
    "acc_mismatch": ("两次输入的新密码不一致", "The two new passwords differ"),
    "acc_same": ("新密码不能与原密码相同", "The new password must differ from the current one"),
}
add_texts(ACCOUNT_TEXT)

_FORM_FIELDS = ("current_password", "new_password", "repeat_password")


def _form_page(
    page: Page, *, field: str = "", message: str = "", changed: bool = False, status: int = 200
) -> HTMLResponse:
    return page.render(
        "account_password.html",
        {
            "field": field,
            "message": message,
            "changed": changed,
            "note": page.t["acc_note"].format(min=MIN_PASSWORD_CHARS),
        },
        status_code=status,
    )


@router.get("/account/password", response_class=HTMLResponse, include_in_schema=False)
def password_form(page: PageDep) -> HTMLResponse:
    return _form_page(page, changed=page.request.query_params.get("changed") == "1")


@router.post("/account/password", include_in_schema=False)
async def change_password(page: PageDep) -> Response:
    """Check the current password (with the sign-in lockout), then the new one twice; set
    it, end every session of the user and sign this browser in again (audited)."""
    async with page.request.form(max_files=0, max_fields=8) as form:
        values = {
            name: value if isinstance(value := form.get(name), str) else "" for name in _FORM_FIELDS
        }
    t = page.t
    current, new, repeat = (values[name] for name in _FORM_FIELDS)
    if len(new) < MIN_PASSWORD_CHARS:
        message = t["acc_too_short"].format(min=MIN_PASSWORD_CHARS)
        return _form_page(page, field="new_password", message=message, status=400)
    if len(new) > MAX_PASSWORD_CHARS:
        message = t["acc_too_long"].format(max=MAX_PASSWORD_CHARS)
        return _form_page(page, field="new_password", message=message, status=400)
    if new != repeat:
        return _form_page(page, field="repeat_password", message=t["acc_mismatch"], status=400)
    if new == current:
        return _form_page(page, field="new_password", message=t["acc_same"], status=400)

    service = AccessService(page.context.session)
    request = page.request
    address = request.client.host if request.client else None
    wall_now = page.node.wall_clock.now()
    checked = service.sign_in(
        page.user.username,
        current[: MAX_PASSWORD_CHARS + 1],
        client_address=address,
        policy=lockout_policy(page.node.settings),
        now=wall_now,
    )
    if checked.user is None or checked.user.id != page.user.id:
        # The failure is counted (the request commits what sign_in recorded).
        if checked.lock is not None:
            message = t["acc_locked"].format(minutes=checked.lock.minutes_left(wall_now))
            return _form_page(page, field="current_password", message=message, status=429)
        return _form_page(
            page, field="current_password", message=t["acc_wrong_current"], status=401
        )

    service.change_password(page.user.username, new, now=wall_now)
    page.node.governance.audit(page.context.session).record(
        Actor.user(page.user.id),
        "account.password",
        record_type="user",
        record_ids=[str(page.user.id)],
        ip=address,
    )
    session_id = start_browser_session(service, request, page.user.id, wall_now)
    # Redirected, so the next page is read under the new session (and its CSRF token).
    response = RedirectResponse(f"/account/password?changed=1&lang={page.lang}", status_code=303)
    set_session_cookie(request, response, page.user.id, session_id)
    return response
