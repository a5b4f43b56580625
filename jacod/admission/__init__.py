"""Admission: deployment files (TOML, YAML, JSON) to validated ServiceSpecs.

Pure: bytes in, `Admitted` or `AdmissionError` out, no I/O. Every error names
the field path and the expected form, and all of a file's errors are reported
at once (docs/deployments.md lists fields, forms and error examples).

    admitted = admit(data, format_for_filename(path))   # AdmissionError: .errors
    print(diff(current_services, admitted.services))    # for apply --dry-run
"""

from .build import Admitted, admit
from .diff import diff
from .errors import AdmissionError, FieldError
from .parse import FORMATS, format_for_filename

__all__ = [
    "FORMATS",
    "AdmissionError",
    "Admitted",
    "FieldError",
    "admit",
    "diff",
    "format_for_filename",
]
