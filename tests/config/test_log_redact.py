"""redact() and RedactingFilter mask LWA tokens and client secrets."""

from __future__ import annotations

import logging

import pytest

from sellerkit._log import RedactingFilter, get_logger, redact

ACCESS = "Atza|IwEBIPk-bEXAMPLE_token+/=abc"
REFRESH = "Atzr|IwEBIA9refresh-EXAMPLE"
RDT = "Atz.sprdt|AYABeEXAMPLErdt"
CLIENT_SECRET = "amzn1.oa2-cs.v1.0f1e2d3c4b5a69788796a5b4c3d2e1f0"


@pytest.mark.parametrize("secret", [ACCESS, REFRESH, RDT, CLIENT_SECRET])
def test_each_kind_is_masked(secret: str) -> None:
    out = redact(f"before {secret} after")
    assert secret not in out
    assert out.startswith("before ") and out.endswith(" after")
    assert "***" in out


def test_form_encoded_body() -> None:
    body = ("grant_type=refresh_token&refresh_token=Atzr%7CIwEBIA9refresh&client_id="
            "amzn1.application-oa2-client.abc&client_secret=amzn1.oa2-cs.v1.0f1e2d")
    out = redact(body)
    assert "IwEBIA9refresh" not in out and "0f1e2d" not in out
    # client ids are not secret and stay readable for debugging
    assert "amzn1.application-oa2-client.abc" in out
    assert "refresh_token=Atzr%7C***&client_id" in out


def test_json_and_headers() -> None:
    text = f'{{"access_token":"{ACCESS}","expires_in":3600}} x-amz-access-token: {RDT}'
    out = redact(text)
    assert out == '{"access_token":"Atza|***","expires_in":3600} x-amz-access-token: Atz.sprdt|***'


def test_plain_text_untouched() -> None:
    text = "GET /orders/v0/orders?MarketplaceIds=ATVPDKIKX0DER 200"
    assert redact(text) is text


def test_filter_masks_args_and_exceptions(caplog: pytest.LogCaptureFixture) -> None:
    log = get_logger("test_redact")
    assert log.name == "sellerkit.test_redact"
    handler_filter = RedactingFilter()
    caplog.handler.addFilter(handler_filter)
    try:
        with caplog.at_level(logging.DEBUG, logger="sellerkit"):
            log.info("token response %s", ACCESS)
            try:
                raise RuntimeError(f"boom {REFRESH}")
            except RuntimeError:
                log.exception("failed")
    finally:
        caplog.handler.removeFilter(handler_filter)
    assert ACCESS not in caplog.text and REFRESH not in caplog.text
    assert "Atza|***" in caplog.text and "Atzr|***" in caplog.text


def test_library_does_not_configure_root_logger() -> None:
    import importlib

    root = logging.getLogger()
    before = (list(root.handlers), root.level)
    for mod in ("sellerkit._log", "sellerkit.config", "sellerkit.regions", "sellerkit.cli.main"):
        importlib.import_module(mod)
    assert (list(root.handlers), root.level) == before
