"""The API's request parsers: DRF's, with every malformed JSON document a 400."""

from __future__ import annotations

from typing import Any

from rest_framework import parsers
from rest_framework.exceptions import ParseError


class JSONParser(parsers.JSONParser):
    """DRF's ``JSONParser``; a document nested too deeply for Python's ``json`` module is a 400
    ``parse_error`` like any malformed JSON (DRF's own only turns ``ValueError`` into one, and a
    ``RecursionError`` becomes a 500)."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - the document is nested too deeply.") from None


# What the selections API reads: JSON, and the browsable API's forms.
PARSER_CLASSES = [JSONParser, parsers.FormParser, parsers.MultiPartParser]
