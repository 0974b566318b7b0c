"""The running server under arbitrary requests: every one is answered with a status below 500,
and /healthz keeps answering between them."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

requests = pytest.importorskip("requests")
pytest.importorskip("aiortc")

from tests.conftest import SERVER_TOKEN  # noqa: E402

AUTH = {"Authorization": f"Bearer {SERVER_TOKEN}"}
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
TEXT = st.text(max_size=40)
BODY = (
    st.binary(max_size=300)
    | st.builds(lambda sdp, kind: {"sdp": sdp, "type": kind}, TEXT, st.sampled_from(["offer", "answer", ""]))
    | st.dictionaries(TEXT, TEXT, max_size=3)
)


@FUZZ
@given(body=BODY, session=TEXT, image=st.binary(max_size=300), face=TEXT)
def test_every_request_gets_a_status_and_the_server_keeps_answering(
    server_url: str, body: object, session: str, image: bytes, face: str
) -> None:
    offer = (
        requests.post(f"{server_url}/offer", data=body, headers=AUTH, timeout=30)
        if isinstance(body, bytes)
        else requests.post(f"{server_url}/offer", json=body, headers=AUTH, timeout=30)
    )
    form = {"session": session, "face": face}
    upload = requests.post(
        f"{server_url}/source", data=form, files={"image": ("x.png", image)}, headers=AUTH, timeout=30
    )
    as_curl_sends_it = {**AUTH, "Content-Type": "application/x-www-form-urlencoded"}  # --data-binary
    raw = requests.post(f"{server_url}/source", data=image, headers=as_curl_sends_it, timeout=30)
    assert offer.status_code < 500 and upload.status_code < 500 and raw.status_code < 500
    assert requests.get(f"{server_url}/healthz", timeout=10).status_code == 200
