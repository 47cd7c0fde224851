"""Checks for published FHIR content: pure functions from files to a list of problems.

Used by `cpt-plugin validate` and the tests; nothing here is imported on a request path (model
validation with fhir.resources costs about 1 ms per 5 KB).
"""

from plugin.content.problems import Problem
from plugin.content.validate import Report, validate_paths

__all__ = ["Problem", "Report", "validate_paths"]
