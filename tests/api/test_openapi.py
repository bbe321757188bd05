"""The OpenAPI document describes the errors MAIA sends (the fuzz test checks the rest)."""

from __future__ import annotations

import json

from maia import Maia
from maia.api import create_app


def test_errors_are_documented_as_the_envelope_and_never_as_422(maia: Maia) -> None:
    spec = create_app(maia).openapi()
    assert '"422"' not in json.dumps(spec)
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    error = spec["components"]["schemas"]["ErrorBody"]
    assert error["required"] == ["error"]
    assert error["additionalProperties"] is True
    assert "default" not in error["properties"]["code"]

    memory = spec["paths"]["/v1/memories/{memory_id}"]["get"]["responses"]
    assert set(memory) == {"200", "400", "401", "403", "404", "409", "413", "429", "503"}
    envelope = memory["404"]["content"]["application/json"]["schema"]
    assert envelope == {"$ref": "#/components/schemas/ErrorBody"}
    assert set(spec["paths"]["/health"]["get"]["responses"]) == {"200", "429"}
    assert set(spec["paths"]["/ready"]["get"]["responses"]) == {"200", "429", "503"}
    assert set(spec["paths"]["/metrics"]["get"]["responses"]["200"]["content"]) == {"text/plain"}
