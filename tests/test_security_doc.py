"""docs/security.md names the test behind each defence; every name must still exist."""

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SECURITY_DOC = ROOT / "docs" / "security.md"

# `tests/some/file.py` or `tests/some/file.py::test_name`, as the page writes them.
REFERENCE = re.compile(r"(tests/[\w/]+\.py)(?:::(\w+))?")


def _test_functions(path: Path) -> set[str]:
    """Names of the test functions a file defines, at module level or in classes."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {
        node.name
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.name.startswith("test_")
    }


def _references(text: str) -> list[tuple[str, str | None]]:
    return [(match.group(1), match.group(2)) for match in REFERENCE.finditer(text)]


def test_every_test_the_security_page_names_exists() -> None:
    references = _references(SECURITY_DOC.read_text(encoding="utf-8"))
    assert len(references) > 20, "the page should name the tests behind its defences"
    missing = []
    for file, function in references:
        path = ROOT / file
        if not path.is_file():
            missing.append(file)
        elif function is not None and function not in _test_functions(path):
            missing.append(f"{file}::{function}")
    assert not missing, f"docs/security.md names tests that do not exist: {missing}"


def test_the_reference_check_catches_a_missing_file_and_a_missing_test() -> None:
    text = "`tests/test_security_doc.py::test_gone` and `tests/no_such_file.py`"
    (this_file, gone_test), (no_file, no_test) = _references(text)
    assert gone_test == "test_gone" and gone_test not in _test_functions(ROOT / this_file)
    assert no_test is None and not (ROOT / no_file).is_file()
