"""Every query on users, their sessions, API tokens and failed sign-ins, and the jurisdiction
tree they need."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from zhian.access.models import ApiToken, LoginFailure, User, UserSession
from zhian.registry.models import Community, Jurisdiction


class UserRepository:
    """Reads and writes users; the caller owns the transaction."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, user_id: int) -> User | None:
        return self.session.get(User, user_id)

    def get_by_username(self, username: str) -> User | None:
        return self.session.scalars(select(User).where(User.username == username)).first()

    def list_users(self) -> list[User]:
        return list(self.session.scalars(select(User).order_by(User.username)))

    def add(self, user: User) -> None:
        self.session.add(user)
        self.session.flush()

    def flush(self) -> None:
        self.session.flush()

    def jurisdiction_exists(self, jurisdiction_id: str) -> bool:
        # TODO(#4): ask the registry's service once it offers the lookup.
        statement = select(Jurisdiction.id).where(Jurisdiction.id == jurisdiction_id)
        return self.session.scalars(statement).first() is not None

    def jurisdiction_parents(self) -> dict[str, str | None]:
        """Every jurisdiction with its parent: the tree scopes are computed from."""
        rows = self.session.execute(select(Jurisdiction.id, Jurisdiction.parent_id))
        return {jurisdiction_id: parent_id for jurisdiction_id, parent_id in rows}

    def community_jurisdictions(self) -> dict[str, str]:
        rows = self.session.execute(select(Community.id, Community.jurisdiction_id))
        return {community_id: jurisdiction_id for community_id, jurisdiction_id in rows}

    # Sessions of signed-in browsers
    def add_session(self, user_session: UserSession) -> None:
        self.session.add(user_session)
        self.session.flush()

    def get_session_with_user(self, digest: str) -> tuple[UserSession, User] | None:
        """The session with this id hash and its user: one lookup on a unique index."""
        statement = (
            select(UserSession, User)
            .join(User, User.id == UserSession.user_id)
            .where(UserSession.session_sha256 == digest)
        )
        row = self.session.execute(statement).first()
        return None if row is None else (row[0], row[1])

    def get_session(self, digest: str) -> UserSession | None:
        statement = select(UserSession).where(UserSession.session_sha256 == digest)
        return self.session.scalars(statement).first()

    def revoke_sessions_of(self, user_id: int, moment: datetime, *, keep_id: int | None) -> int:
        """Revoke every live session of a user (but `keep_id`); how many were revoked."""
        statement = (
            update(UserSession)
            .where(UserSession.user_id == user_id, UserSession.revoked_at.is_(None))
            .values(revoked_at=moment)
        )
        if keep_id is not None:
            statement = statement.where(UserSession.id != keep_id)
        result = self.session.execute(statement)
        return int(getattr(result, "rowcount", 0) or 0)

    def purge_sessions_of(self, user_id: int, ended_before: datetime) -> None:
        """Forget a user's sessions that expired or were revoked before `ended_before`."""
        self.session.execute(
            delete(UserSession).where(
                UserSession.user_id == user_id,
                (UserSession.expires_at < ended_before) | (UserSession.revoked_at < ended_before),
            )
        )

    # API tokens
    def add_token(self, token: ApiToken) -> None:
        self.session.add(token)
        self.session.flush()

    def get_token(self, token_id: int) -> ApiToken | None:
        return self.session.get(ApiToken, token_id)

    def get_token_by_hash(self, digest: str) -> ApiToken | None:
        statement = select(ApiToken).where(ApiToken.token_sha256 == digest)
        return self.session.scalars(statement).first()

    def list_tokens(self, *, owner_id: int | None = None) -> list[ApiToken]:
        statement = select(ApiToken).order_by(ApiToken.id)
        if owner_id is not None:
            statement = statement.where(ApiToken.owner_id == owner_id)
        return list(self.session.scalars(statement))

    # Failed sign-ins
    def get_failure(self, key: str) -> LoginFailure | None:
        return self.session.scalars(select(LoginFailure).where(LoginFailure.key == key)).first()

    def add_failure(self, failure: LoginFailure) -> None:
        self.session.add(failure)
        self.session.flush()

    def clear_failure(self, key: str) -> None:
        self.session.execute(delete(LoginFailure).where(LoginFailure.key == key))

    def purge_failures_before(self, moment: datetime) -> int:
        """Forget counters whose last failure is older than `moment`; how many went."""
        result = self.session.execute(
            delete(LoginFailure).where(LoginFailure.last_failed_at < moment)
        )
        return int(getattr(result, "rowcount", 0) or 0)
