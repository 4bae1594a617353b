"""The consent page of Seller Central, as the emulator plays it.

``GET /apps/authorize/consent?application_id=..&state=..&version=beta[&redirect_uri=..]`` shows
an HTML page with an *Approve* button; approving (a POST of the same form) redirects to the
redirect URI with ``spapi_oauth_code``, ``state`` and ``selling_partner_id``. The code is
single-use and expires after five minutes; the ``authorization_code`` grant of the emulator's LWA
exchanges it for a refresh token of that seller.

The emulator's application is a *draft* app: ``version=beta`` is required (error MD1000 without
it), and a redirect URI must be one registered for the app (error MD5101 otherwise).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from html import escape
from urllib.parse import urlencode, urlsplit, urlunsplit

from sellerkit.emulator.config import EmulatorConfig

__all__ = ["ConsentError", "ConsentRequest", "check_consent", "consent_page", "error_page",
           "redirect_location"]


@dataclass(frozen=True)
class ConsentRequest:
    application_id: str
    state: str
    redirect_uri: str


class ConsentError(Exception):
    """An authorization error page: Amazon's code (MD1000, MD5101, ...), a message, a status."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status


def check_consent(config: EmulatorConfig, params: Mapping[str, str]) -> ConsentRequest:
    """Validate the consent URI parameters; raises :class:`ConsentError`."""
    app_id = params.get("application_id", "")
    if not app_id:
        raise ConsentError("MD9100", "The application_id parameter is missing.")
    if app_id != config.application_id:
        raise ConsentError("MD9100", f"No application is registered with id {app_id!r}.", 404)
    if params.get("version") != "beta":
        raise ConsentError(
            "MD1000", "This application is in Draft state: authorize it with version=beta in "
                      "the consent URI.")
    redirect = params.get("redirect_uri") or (config.redirect_uris[0]
                                              if config.redirect_uris else "")
    if not redirect or redirect not in config.redirect_uris:
        raise ConsentError(
            "MD5101", f"The redirect_uri {redirect!r} is not registered for this application. "
                      "Registered: " + ", ".join(config.redirect_uris))
    return ConsentRequest(app_id, params.get("state", ""), redirect)


def redirect_location(req: ConsentRequest, code: str, seller_id: str) -> str:
    """Where Amazon sends the browser after approval."""
    parts = urlsplit(req.redirect_uri)
    extra = urlencode({"state": req.state, "selling_partner_id": seller_id,
                       "spapi_oauth_code": code})
    query = f"{parts.query}&{extra}" if parts.query else extra
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


_STYLE = ("body{font-family:system-ui,sans-serif;max-width:40em;margin:3em auto;color:#111}"
          ".box{border:1px solid #ccc;border-radius:8px;padding:1.5em}"
          "button{background:#f0c14b;border:1px solid #a88734;padding:.6em 1.4em;"
          "border-radius:4px;font-size:1em;cursor:pointer}.err{color:#b12704}"
          "code{background:#f4f4f4;padding:.1em .3em}")


def consent_page(req: ConsentRequest, seller_ids: list[str], app_name: str) -> str:
    """The page with the Approve button; every value is escaped."""
    hidden = "".join(
        f'<input type="hidden" name="{escape(k)}" value="{escape(v)}">'
        for k, v in (("application_id", req.application_id), ("state", req.state),
                     ("redirect_uri", req.redirect_uri), ("version", "beta")))
    if len(seller_ids) > 1:
        options = "".join(f'<option value="{escape(s)}">{escape(s)}</option>'
                          for s in seller_ids)
        seller = (f'<p><label>Selling account: <select name="selling_partner_id">{options}'
                  "</select></label></p>")
    else:
        seller = (f'<input type="hidden" name="selling_partner_id" value="{escape(seller_ids[0])}">'
                  f"<p>Selling account: <code>{escape(seller_ids[0])}</code></p>")
    return (
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>Authorize {escape(app_name)}</title><style>{_STYLE}</style></head><body>"
        "<div class=\"box\"><h1>Authorize application</h1>"
        f"<p><strong>{escape(app_name)}</strong> (<code>{escape(req.application_id)}</code>) "
        "asks for access to your selling account through the Selling Partner API.</p>"
        "<p>This is the sellerkit emulator's consent page; nothing here reaches Amazon.</p>"
        f'<form method="post" action="/apps/authorize/consent">{hidden}{seller}'
        '<button type="submit" name="approve" value="1">Approve</button></form>'
        f"<p><small>After approval you are sent to <code>{escape(req.redirect_uri)}</code>."
        "</small></p></div></body></html>"
    )


def error_page(err: ConsentError) -> str:
    return (
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>Authorization error {escape(err.code)}</title><style>{_STYLE}</style></head>"
        f"<body><div class=\"box\"><h1 class=\"err\">Error {escape(err.code)}</h1>"
        f"<p>{escape(err.message)}</p></div></body></html>"
    )
