from __future__ import annotations

from django.db import models


class Ticket(models.Model):
    """A support ticket, in every tenant's schema (a table named ``tenants_ticket``)."""

    subject = models.CharField(max_length=100)

    def __str__(self) -> str:
        return self.subject
