"""Errors raised by synth/."""

from __future__ import annotations

from hcsp.errors import HcspError


class SynthError(HcspError):
    """Root of synth/'s errors: an impossible request, an empty graph."""
