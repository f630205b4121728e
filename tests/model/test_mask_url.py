"""mask_url: credentials in endpoint URLs never print; the rest of the URL is kept."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hooklab.model.endpoints import MAX_TIMEOUT, Endpoint, SigningSecret, mask_url
from hooklab.model.errors import ConfigError

SECRET = SigningSecret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")


@pytest.mark.parametrize(("url", "masked"), [
    ("https://u:pw@h.test/p", "https://u:***@h.test/p"),
    ("https://tok@h.test/", "https://***@h.test/"),
    ("https://h.test/p?api_key=1&x=2&sig=3#f", "https://h.test/p?api_key=***&x=2&sig=***#f"),
    ("https://h.test/p?Token=abc", "https://h.test/p?Token=***"),
    ("https://h.test/a@b", "https://h.test/a@b"),  # an @ in the path is no user info
    ("https://h.test/p?token=", "https://h.test/p?token="),
    ("https://h.test/", "https://h.test/"),
    ("/in?token=abc&x=1", "/in?token=***&x=1"),
    ("/in", "/in"),
])
def test_mask_url_examples(url: str, masked: str) -> None:
    assert mask_url(url) == masked


credential = st.text(alphabet="0123456789", min_size=6)  # never a run in the kept text


@given(user=st.sampled_from(["", "bob"]), password=credential, token=credential)
def test_masked_url_never_contains_the_password_or_token(user: str, password: str,
                                                          token: str) -> None:
    userinfo = f"{user}:{password}" if user else password
    url = f"https://{userinfo}@hooks.example.test/in?access_token={token}&page=2"
    masked = mask_url(url)
    assert password not in masked and token not in masked
    assert masked.endswith("@hooks.example.test/in?access_token=***&page=2")


def test_a_timeout_above_the_maximum_is_refused_with_its_field() -> None:
    Endpoint("ep_1", "https://a.test/", (SECRET,), timeout=MAX_TIMEOUT)
    with pytest.raises(ConfigError) as raised:
        Endpoint("ep_1", "https://a.test/", (SECRET,), timeout=MAX_TIMEOUT * 2)
    assert raised.value.field == "timeout"
