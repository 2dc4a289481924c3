"""Every query on the user table."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from zhian.access.models import User
from zhian.registry.models import Jurisdiction


class UserRepository:
    """Reads and writes users; the caller owns the transaction."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, user_id: int) -> User | None:
        return self.session.get(User, user_id)

    def get_by_username(self, username: str) -> User | None:
        return self.session.scalars(select(User).where(User.username == username)).first()

    def add(self, user: User) -> None:
        self.session.add(user)
        self.session.flush()

    def flush(self) -> None:
        self.session.flush()

    def jurisdiction_exists(self, jurisdiction_id: str) -> bool:
        # TODO(jurisdiction scoping): ask the registry's service once it offers the lookup.
        statement = select(Jurisdiction.id).where(Jurisdiction.id == jurisdiction_id)
        return self.session.scalars(statement).first() is not None
