"""Property-based fuzz of the infer endpoint: whatever the body, the answer is a 2xx or a 4xx, never a 5xx."""

from __future__ import annotations

import json

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

DATATYPES = ["BOOL", "UINT8", "INT8", "INT16", "INT32", "INT64", "FP16", "FP32", "FP64", "BF16", "STRING", "fp32", ""]
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=3),
)
data = st.recursive(st.lists(scalars, max_size=12), lambda inner: st.lists(inner, max_size=4), max_leaves=40)
tensor = st.fixed_dictionaries(
    {
        "name": st.sampled_from(["features", "input__0", "x", ""]),
        "datatype": st.sampled_from(DATATYPES),
        "shape": st.one_of(st.lists(st.integers(min_value=-2, max_value=6), max_size=4), st.just([1, 4]), scalars),
        "data": st.one_of(data, scalars, st.lists(st.floats(0, 9, width=32), min_size=4, max_size=4)),
    },
    optional={"parameters": st.dictionaries(st.text(max_size=4), scalars, max_size=2)},
)
request = st.one_of(
    st.fixed_dictionaries({"inputs": st.lists(tensor, max_size=3)},
                          optional={"id": st.one_of(st.text(max_size=8), scalars),
                                    "outputs": st.lists(st.fixed_dictionaries({"name": st.text(max_size=6)}), max_size=2)}),
    st.dictionaries(st.text(max_size=6), scalars, max_size=3),
    st.lists(scalars, max_size=3),
    scalars,
)
bodies = st.one_of(request.map(lambda doc: json.dumps(doc).encode()), st.binary(max_size=64))


def test_infer_endpoint_never_answers_5xx(affine_server):
    seen: set[int] = set()
    with httpx.Client(base_url=affine_server.url, timeout=30) as client:

        @settings(max_examples=200, deadline=None, database=None,
                  suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
        @given(body=bodies)
        def check(body: bytes) -> None:
            response = client.post("/v2/models/m/infer", content=body)
            seen.add(response.status_code)
            assert response.status_code < 500, (body, response.status_code, response.text)
            assert response.status_code in (200, 400), (body, response.status_code, response.text)
            doc = response.json()
            assert ("outputs" in doc) if response.status_code == 200 else isinstance(doc.get("error"), str)

        check()
    assert 400 in seen
    assert affine_server.proc.poll() is None
    assert httpx.get(affine_server.url + "/v2/health/ready").status_code == 200
