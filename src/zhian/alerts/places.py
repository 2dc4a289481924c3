"""The jurisdiction tree as routing needs it: community -> jurisdiction, parents, subtrees."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class JurisdictionTree:
    parents: dict[str, str | None]
    community_jurisdiction: dict[str, str]

    def of_community(self, community_id: str | None) -> str | None:
        return None if community_id is None else self.community_jurisdiction.get(community_id)

    def parent(self, jurisdiction_id: str | None) -> str | None:
        return None if jurisdiction_id is None else self.parents.get(jurisdiction_id)

    def ancestry(self, jurisdiction_id: str | None) -> list[str]:
        """The jurisdiction and its ancestors, nearest first."""
        out: list[str] = []
        current = jurisdiction_id
        while current is not None and current not in out:
            out.append(current)
            current = self.parents.get(current)
        return out

    def subtree(self, jurisdiction_id: str) -> set[str]:
        """The jurisdiction and every jurisdiction below it."""
        children: dict[str, list[str]] = {}
        for child, parent in self.parents.items():
            if parent is not None:
                children.setdefault(parent, []).append(child)
        out = {jurisdiction_id}
        stack = [jurisdiction_id]
        while stack:
            for child in children.get(stack.pop(), []):
                if child not in out:
                    out.add(child)
                    stack.append(child)
        return out

    def communities_in(self, jurisdictions: set[str]) -> set[str]:
        return {c for c, j in self.community_jurisdiction.items() if j in jurisdictions}
