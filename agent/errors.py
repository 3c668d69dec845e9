"""Errors raised by agent/."""

from __future__ import annotations

from hcsp.errors import HcspError


class AgentError(HcspError):
    """Root of agent/'s errors: a missing index, a bad request."""
