"""Errors raised by train/."""

from __future__ import annotations

from hcsp.errors import HcspError


class TrainError(HcspError):
    """Root of train/'s errors: bad data, a model that does not fit, a bad config."""
