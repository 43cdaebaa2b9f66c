"""The shared pipeline's own pieces: request ids and the JSON response helper."""

from __future__ import annotations

import uuid

from emulator.graph.pipeline import JSON, json_response, new_request_id


def test_request_ids_are_distinct_version_4_guids() -> None:
    ids = [new_request_id() for _ in range(1000)]
    assert len(set(ids)) == len(ids)
    for request_id in ids[:3] + ids[-3:]:
        parsed = uuid.UUID(request_id)
        assert (parsed.version, parsed.variant) == (4, uuid.RFC_4122)
        assert str(parsed) == request_id  # lower case, dashed: Graph's own form


def test_json_responses_do_not_share_headers() -> None:
    first, second = json_response(b"{}"), json_response(b"[]", status=201)
    first.headers["request-id"] = "only-on-the-first"
    assert "request-id" not in second.headers
    assert second.headers["Content-Type"] == JSON and second.status == 201
