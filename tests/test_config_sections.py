"""Each settings section is owned by the module of the backend, domain or model it
configures, and `zhian.config.Settings` assembles them."""

from __future__ import annotations

import ast
import importlib
import inspect

from pydantic import BaseModel

from zhian.config import Settings

# The sections of the entry points (web server, worker, page display, each process's log
# output) stay in config.
ENTRY_POINT_SECTIONS = {"web", "worker", "pages", "logging"}


def sections() -> dict[str, type[BaseModel]]:
    found: dict[str, type[BaseModel]] = {}
    for name, field in Settings.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            found[name] = annotation
    return found


def test_every_section_but_the_entry_points_lives_in_its_owners_settings_module() -> None:
    found = sections()
    assert len(found) >= 15, found
    for name, model in found.items():
        if name in ENTRY_POINT_SECTIONS:
            assert model.__module__ == "zhian.config", name
        else:
            assert model.__module__.endswith(".settings"), (name, model.__module__)


def test_a_settings_module_imports_nothing_of_zhian() -> None:
    # A leaf: every module may import its settings without import cycles or layer breaks.
    modules = {m.__module__ for m in sections().values()} - {"zhian.config"}
    assert len(modules) >= 10
    for module_name in sorted(modules):
        tree = ast.parse(inspect.getsource(importlib.import_module(module_name)))
        imported = [
            node.module or ""
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom)
        ] + [alias.name for node in ast.walk(tree) if isinstance(node, ast.Import)
             for alias in node.names]  # fmt: skip
        assert not [m for m in imported if m.startswith("zhian")], (module_name, imported)
