"""What the strict JSON boundary costs a request, on its own: the body parse of a create
before (``json.loads`` with the NaN hook) and now (``baas.api.strictjson.loads``: orjson,
then the colon count that proves there is no duplicate key), beside the exhaustive
alternative (``json.loads`` keeping every object's pairs) and orjson alone; and the
middleware's one pass that adds the security headers to a response.

    python -m bench.jsonbody            # the bench's create body and a 100-document batch

Each body is parsed in rounds of many calls, the ways taking turns in every round; the
best round of each is reported in microseconds per call (the least disturbed by the rest
of the machine).
"""

from __future__ import annotations

import json
import sys
import timeit
from collections.abc import Callable
from typing import Any

import orjson

from baas.api import strictjson
from baas.api.middleware import _response_headers, _with_request_id
from bench.seed import sample_document


def _no_constant(name: str) -> Any:
    raise ValueError(name)


def before(raw: bytes) -> Any:
    return json.loads(raw, parse_constant=_no_constant)


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        raise ValueError("duplicate key")
    return out


def every_pair(raw: bytes) -> Any:
    return json.loads(raw, parse_constant=_no_constant, object_pairs_hook=_unique)


def interleaved(ways: list[tuple[str, Callable[[bytes], Any]]], raw: bytes,
                rounds: int = 9) -> list[float]:
    """Microseconds per call for each way: the best of ``rounds``, the ways taking turns
    in every round so the machine's drift hits them alike."""
    number = max(200, 2_000_000 // max(len(raw), 1))
    best = [float("inf")] * len(ways)
    for _ in range(rounds):
        for index, (_, fn) in enumerate(ways):
            took = timeit.timeit(lambda fn=fn: fn(raw), number=number) / number * 1e6
            best[index] = min(best[index], took)
    return best


def main() -> int:
    create = json.dumps(sample_document(7)).encode()
    batch = json.dumps({"operations": [{"op": "create", "data": sample_document(i)}
                                       for i in range(100)]}).encode()
    ways = [("json.loads (before)", before), ("strictjson.loads (now)", strictjson.loads),
            ("json.loads, every pair checked", every_pair), ("orjson.loads alone", orjson.loads)]
    print(f"{'parse':34} {'create ' + str(len(create)) + ' B':>16} "
          f"{'batch ' + str(len(batch)) + ' B':>18}")
    small, large = interleaved(ways, create), interleaved(ways, batch)
    for (name, _), one, many in zip(ways, small, large, strict=True):
        print(f"{name:34} {one:13.2f} us {many:15.2f} us")
    start = {"type": "http.response.start", "status": 201, "headers": [
        (b"content-type", b"application/json"), (b"content-length", b"512"),
        (b"etag", b'"1"')]}
    for name, fn in (("request id only (before)", _with_request_id),
                     ("request id and security headers (now)", _response_headers)):
        per_call = min(timeit.repeat(lambda fn=fn: fn(start, "0123456789abcdef"),
                                     number=200_000, repeat=7)) / 200_000 * 1e6
        print(f"{name:40} {per_call:7.2f} us")
    return 0


if __name__ == "__main__":
    sys.exit(main())
