"""Every error has a code, an exit code and an entry in docs/errors.md."""

import re
from pathlib import Path

from revloop.domain.issues import Issue, RevloopError, Severity, all_error_classes

DOCS = Path(__file__).resolve().parents[3] / "docs" / "errors.md"


def documented_codes() -> dict[str, str]:
    text = DOCS.read_text(encoding="utf-8")
    sections = re.split(r"^### ", text, flags=re.MULTILINE)[1:]
    return {s.split("\n", 1)[0].strip().strip("`"): s for s in sections}


def test_every_error_is_documented_with_its_exit_code() -> None:
    docs = documented_codes()
    missing = []
    for cls in all_error_classes():
        section = docs.get(cls.code)
        if section is None:
            missing.append(f"{cls.__name__} ({cls.code}) has no entry")
        elif f"Exit code: {cls.exit_code}" not in section:
            missing.append(f"{cls.code}: the entry does not say 'Exit code: {cls.exit_code}'")
    assert not missing, "docs/errors.md: " + "; ".join(missing)


def test_codes_are_unique_and_exit_codes_nonzero() -> None:
    classes = all_error_classes()
    codes = [cls.code for cls in classes]
    assert len(codes) == len(set(codes))
    assert all(cls.exit_code > 0 for cls in classes)


def test_one_line_message() -> None:
    err = RevloopError("the store is gone", hint="run revloop init")
    assert err.one_line() == "error [revloop.error]: the store is gone (run revloop init)"
    assert "\n" not in err.one_line()


def test_issue_as_dict() -> None:
    issue = Issue("rate.missing", Severity.ERROR, "T101/1", "no rate", action="add a rate row")
    assert issue.as_dict() == {
        "code": "rate.missing",
        "severity": "error",
        "subject": "T101/1",
        "message": "no rate",
        "action": "add a rate row",
    }
