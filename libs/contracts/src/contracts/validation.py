"""Errors of rules that concern several fields of one model."""

from __future__ import annotations


class FieldsError(ValueError):
    """Raise in a model validator for a rule about several fields: the 422 names each
    (``body.admitted_on`` and ``body.discharged_on``), not only the model (``body``)."""

    def __init__(self, message: str, *fields: str) -> None:
        super().__init__(message)
        self.fields = fields
