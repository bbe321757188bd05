"""Schemathesis against the live REST API: every operation of ``/openapi.json``, with the
server key (an admin key of the system tenant), answers without a 5xx and as its
schema documents (status code, content type, headers, body).

Each operation gets Schemathesis' coverage phase (boundary and invalid values) and its
fuzzing phase (positive and negative data), derandomized, so a run is repeatable. The
stateful phase (chains of calls through inferred links) is left out: against one shared
store its scenarios do not replay identically, which Hypothesis reports as flaky.

Schemathesis' own pytest integration for fixture-loaded schemas
(``schemathesis.pytest.from_fixture``) sets ``Node._nodeid``, which pytest 9.2 no longer
has, so this test builds each operation's Hypothesis test the way that integration does
(``create_test``) and runs them as pytest subtests. ``/mcp`` is not in the schema.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable

import pytest
import schemathesis
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.generation import derive_operation_seed
from schemathesis.generation.hypothesis.builder import (
    HypothesisTestConfig,
    HypothesisTestMode,
    create_test,
)
from schemathesis.generation.overrides import with_config_headers
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.conftest import LiveServer

API_KEY = "fuzz-key"
SEED = 20260201
MAX_EXAMPLES = 50  # per operation, on top of the coverage phase's cases
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
# Operations that must succeed at least once, or the run proves little (say, every
# request was refused for its key).
MUST_SUCCEED = {
    "GET /v1/stats",
    "GET /v1/memories",
    "POST /v1/memories",
    "POST /v1/memories/search",
    "POST /v1/context",
    "GET /v1/namespaces",
    "POST /admin/tenants",
}


@pytest.fixture
def api_schema(serve: Callable[..., LiveServer]) -> schemathesis.BaseSchema:
    server = serve(api_key=API_KEY)
    config = schemathesis.Config.from_dict(
        {
            "seed": SEED,
            "base-url": server.url,
            "headers": {"X-API-Key": API_KEY},
            "generation": {
                "max-examples": MAX_EXAMPLES,
                "deterministic": True,
                "database": "none",
            },
        }
    )
    # The schema route is public: it is fetched without the key.
    return schemathesis.openapi.from_url(f"{server.url}/openapi.json", config=config)


def test_every_operation_answers_as_documented(
    api_schema: schemathesis.BaseSchema, subtests: pytest.Subtests
) -> None:
    config = api_schema.config
    statuses: defaultdict[str, Counter[int]] = defaultdict(Counter)

    def call(case: schemathesis.Case) -> None:
        response = case.call_and_validate(checks=CHECKS)
        statuses[case.operation.label][response.status_code] += 1

    operations = []
    for result in api_schema.get_all_operations():
        assert isinstance(result, Ok), result
        operations.append(result.ok())
    assert len(operations) >= 40
    for operation in operations:
        test = create_test(
            operation=operation,
            test_func=call,
            config=HypothesisTestConfig(
                project=config,
                modes=[HypothesisTestMode.COVERAGE, HypothesisTestMode.FUZZING],
                settings=config.get_hypothesis_settings(operation=operation, phase="fuzzing"),
                seed=derive_operation_seed(config.seed, operation.label),
                override=with_config_headers(config, operation=operation),
            ),
        )
        with subtests.test(msg=operation.label):
            test()

    assert not [op for op, seen in statuses.items() if 401 in seen], "the key was refused"
    succeeded = {op for op, seen in statuses.items() if any(200 <= s < 300 for s in seen)}
    assert not MUST_SUCCEED - succeeded, f"never succeeded: {MUST_SUCCEED - succeeded}"
