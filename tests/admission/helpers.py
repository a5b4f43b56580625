"""Shared by the admission tests: admit a text, or the lines of its rejection."""

from __future__ import annotations

from textwrap import dedent

import pytest

from jacod.admission import AdmissionError, Admitted, admit


def ok(src: str, fmt: str = "") -> Admitted:
    return admit(dedent(src).encode(), fmt)


def rejected(src: str | bytes, fmt: str = "") -> list[str]:
    data = src if isinstance(src, bytes) else dedent(src).encode()
    with pytest.raises(AdmissionError) as info:
        admit(data, fmt)
    lines = str(info.value).split("\n")
    assert lines == [str(e) for e in info.value.errors]
    return lines
