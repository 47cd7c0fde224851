"""The one error of CDS content that cannot load (rules, fact tables, service definitions).

A leaf module: the fact tables and the service catalogue raise it too, and the engine's contract
imports them, so it cannot live in the contract without an import cycle.
"""

from __future__ import annotations


class RuleError(ValueError):
    """Content that cannot be loaded; the message names the file, the rule and the problem."""
