from agent.redact import mask_url, redact, register_secret


def test_url_credentials_are_masked() -> None:
    assert mask_url("https://user:tok@github.com/o/r.git") == "https://***@github.com/o/r.git"
    assert mask_url("cannot fetch ssh://git@host/r: denied") == "cannot fetch ssh://***@host/r: denied"
    assert mask_url("/local/path") == "/local/path"


def test_registered_secrets_are_removed_from_any_text() -> None:
    register_secret("s3cr3t-value-xyz")
    assert redact("token s3cr3t-value-xyz rejected") == "token *** rejected"


def test_short_values_are_not_registered() -> None:
    register_secret("ab")
    assert redact("a b ab") == "a b ab"
