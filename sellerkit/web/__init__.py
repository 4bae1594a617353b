"""``sellerkit serve``: the seller-authorization web app ("Connect your Amazon account") and the
vault's admin pages. See :mod:`sellerkit.web.app` (the app), :mod:`sellerkit.web.connect` (the
OAuth flows), :mod:`sellerkit.web.admin` (the admin pages) and :mod:`sellerkit.web.security`
(headers, allowlist, CSRF, sessions). Nothing is imported until used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sellerkit.web.app import create_app
    from sellerkit.web.config import WebSettings, load_web_settings

__all__ = ["WebSettings", "create_app", "load_web_settings"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from sellerkit.web.app import create_app

        return create_app
    if name in ("WebSettings", "load_web_settings"):
        from sellerkit.web import config

        return getattr(config, name)
    raise AttributeError(f"module 'sellerkit.web' has no attribute {name!r}")
