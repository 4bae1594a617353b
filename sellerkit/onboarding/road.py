"""``sellerkit road``: the whole road to SP-API access as a checklist, and the developer profile's
free-text answers drafted from what ``init`` was told.

The steps and their texts are data (``data/road.json``, from research/next-waves.md §1). Each step
gets a status as far as sellerkit can tell:

    done      sellerkit saw it (a well-formed client id in the profile, a first call that worked)
    implied   a later step could not exist without it (LWA credentials imply a registered app,
              an approved developer profile and a verified identity)
    todo      missing, and sellerkit knows it (no refresh token in the profile)
    warn      a doctor check warned; fail: a doctor check failed
    unknown   only Amazon's portals know: the step says where to go and what to enter

By default ``road`` makes no network call (the profile, the state file and the doctor's offline
checks); ``check=True`` runs the whole doctor first and uses its results.

``draft_profile`` restates each question and drafts the answer from the answers given to
``init`` (profile keys ``business_name``, ``use_case``, ``roles``, ``app_type``) or from an answers
file; nothing is invented: what sellerkit cannot know is a ``[TO FILL: ...]`` blank.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from sellerkit._log import redact
from sellerkit.errors import ConfigurationError

__all__ = ["ANSWER_KEYS", "Draft", "RoadStep", "draft_profile", "load_answers",
           "load_evidence", "road", "road_data", "render_draft"]

ANSWER_KEYS = ("business_name", "use_case", "roles", "app_type", "website", "features",
               "role_reasons", "security")


@lru_cache(maxsize=1)
def road_data() -> dict[str, Any]:
    """``data/road.json``: the steps and the developer profile's questions."""
    text = resources.files("sellerkit.onboarding").joinpath("data/road.json").read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


@dataclass
class RoadStep:
    id: str
    title: str
    status: str
    note: str
    what: str
    where: str | None
    enter: list[str]
    docs: str | None
    portal_only: bool
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "status": self.status,
                "note": redact(self.note), "what": self.what, "where": self.where,
                "enter": self.enter, "docs": self.docs, "portal_only": self.portal_only,
                "details": json.loads(redact(json.dumps(self.details, default=str)))}


# -- the profile's extra keys --------------------------------------------------------------


def _profile_table(profile: str | None, config_file: str | os.PathLike[str] | None,
                   env: Mapping[str, str] | None) -> dict[str, Any]:
    """The raw ``[profiles.NAME]`` table (for the keys ``init`` keeps that are not client
    settings); {} when there is none."""
    import tomllib

    from sellerkit.config import default_config_file

    env = os.environ if env is None else env
    path = Path(config_file).expanduser() if config_file is not None else default_config_file(env)
    name = profile or env.get("SELLERKIT_PROFILE") or "default"
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError):
        return {}
    table = (data.get("profiles") or {}).get(name)
    return dict(table) if isinstance(table, dict) else {}


def load_answers(path: str | os.PathLike[str]) -> dict[str, Any]:
    """An answers file (TOML or JSON, by its suffix; ``.toml`` otherwise): the keys of
    ``ANSWER_KEYS``. ``roles`` is a list (or comma-separated), ``role_reasons`` and ``security``
    tables keyed by role name / security question id."""
    p = Path(path).expanduser()
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise ConfigurationError(f"cannot read the answers file {p}: {exc.strerror}") from None
    try:
        if p.suffix.lower() == ".json":
            data = json.loads(raw.decode("utf-8"))
        else:
            import tomllib

            data = tomllib.loads(raw.decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise ConfigurationError(f"the answers file {p} does not parse: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigurationError(f"the answers file {p} must hold a table / object")
    unknown = [k for k in data if k not in ANSWER_KEYS]
    if unknown:
        raise ConfigurationError(f"the answers file {p}: unknown key {unknown[0]!r}; keys: "
                                 + ", ".join(ANSWER_KEYS))
    for key in ("role_reasons", "security"):
        if key in data and not isinstance(data[key], dict):
            raise ConfigurationError(f"the answers file {p}: {key} must be a table")
    return _normalise(data)


def _normalise(data: Mapping[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in data.items() if k in ANSWER_KEYS and v not in (None, "", [])}
    roles = out.get("roles")
    if isinstance(roles, str):
        out["roles"] = [r.strip() for r in roles.split(",") if r.strip()]
    elif isinstance(roles, list):
        out["roles"] = [str(r).strip() for r in roles if str(r).strip()]
    for key in ("business_name", "use_case", "website", "features", "app_type"):
        if key in out and not isinstance(out[key], str):
            raise ConfigurationError(f"{key} must be text, not {type(out[key]).__name__}")
    return out


# -- road ----------------------------------------------------------------------------------


def road(*, profile: str | None = None, config_file: str | os.PathLike[str] | None = None,
         env: Mapping[str, str] | None = None, check: bool = False,
         state_path: Path | None = None, **doctor_kw: Any) -> list[RoadStep]:
    """Every step of the road with its status (see the module docstring)."""
    from sellerkit.config import load_settings
    from sellerkit.onboarding import doctor as d

    table = _profile_table(profile, config_file, env)
    settings = None
    load_error: str | None = None
    try:
        settings = load_settings(profile=profile, config_file=config_file, env=env)
    except ConfigurationError as exc:
        load_error = str(exc)
    results: dict[str, d.Check] = {}
    if check:
        report = d.run_doctor(profile=profile, settings=settings, config_file=config_file,
                              env=env, state_path=state_path, **doctor_kw)
        results = {c.id: c for c in report.checks}
    else:
        checks: list[d.Check] = []
        if settings is not None:
            d._profile(checks, profile, settings, config_file, env)  # noqa: SLF001 - offline
            results["profile"] = checks[0]
            results["sigv4"] = d._sigv4(settings)  # noqa: SLF001
        name = (settings.profile if settings is not None else None) or profile or "default"
        results["secret_expiry"] = d._secret_expiry(  # noqa: SLF001
            name, settings.client_id if settings else None, lambda: datetime.now(UTC),
            state_path)
    steps = []
    for spec in road_data()["steps"]:
        status, note, details = _status(spec["id"], settings, table, results, load_error, check)
        steps.append(RoadStep(spec["id"], spec["title"], status, note, spec["what"],
                              spec.get("where"), list(spec.get("enter") or []),
                              spec.get("docs"), bool(spec.get("portal_only")), details))
    return steps


def _lwa_ok(settings: Any, results: Mapping[str, Any]) -> bool | None:
    lwa = results.get("lwa")
    if lwa is not None and lwa.status != "skip":
        return bool(lwa.status == "pass")
    return None


def _status(step: str, settings: Any, table: Mapping[str, Any], results: Mapping[str, Any],
            load_error: str | None, checked: bool) -> tuple[str, str, dict[str, Any]]:
    from sellerkit.emulator.roles import RESTRICTED_ROLES
    from sellerkit.onboarding.doctor import credential_problems

    has_id = bool(settings is not None and settings.client_id)
    has_secret = bool(settings is not None and settings.client_secret)
    has_refresh = bool(settings is not None and settings.refresh_token)
    lwa_ok = _lwa_ok(settings, results)
    first = results.get("first_call")
    run_doctor = "" if checked else " (sellerkit road --check, or sellerkit doctor, tells)"
    if load_error and step in ("lwa_credentials", "authorization"):
        return "fail", f"the profile does not load: {load_error}", {}
    if step in ("account", "identity", "developer_profile"):
        if first is not None and first.status in ("pass", "warn"):
            return "done", "implied: a first call worked", {}
        if has_id and has_secret and lwa_ok is not False:
            return "implied", ("implied by the app's LWA credentials in the profile (there "
                               "is no app without them)"), {}
        return "unknown", "only Amazon's portals know", {}
    if step == "roles":
        wanted = list(table.get("roles") or [])
        restricted = [r for r in wanted
                      if r.lower().removesuffix(" (restricted)") in
                      {x.lower() for x in RESTRICTED_ROLES}
                      or r.lower().startswith("direct-to-consumer")]
        details = {"requested": wanted, "restricted": restricted}
        flag = (f"; restricted: {', '.join(restricted)} (three-stage review, PII rules)"
                if restricted else "")
        roles = results.get("roles")
        if roles is not None and roles.status not in ("skip",):
            details["probes"] = roles.details.get("probes")
            return roles.status if roles.status != "pass" else "done", roles.message + flag, \
                details
        if wanted:
            return "unknown", f"requested per init: {', '.join(wanted)}{flag}; approval is " \
                              f"the portal's to tell{run_doctor}", details
        return "unknown", "no roles noted (sellerkit init --role ...)" + run_doctor, details
    if step == "app_registration":
        if has_id:
            return "implied", f"a client id is in the profile ({settings.client_id})", {}
        return "todo", "no client id in the profile: register the app first", {}
    if step == "lwa_credentials":
        if not (has_id and has_secret):
            return "todo", "no client id / client secret in the profile (sellerkit init)", {}
        fails, warns = credential_problems(settings.client_id, settings.client_secret, None)
        if fails:
            return "fail", "; ".join(fails), {}
        lwa = results.get("lwa")
        if lwa is not None and lwa.status == "fail" and \
                lwa.details.get("error") in ("invalid_client", "unauthorized_client"):
            return "fail", lwa.message, {}
        if warns:
            return "warn", "; ".join(warns), {}
        return ("done" if lwa_ok else "implied",
                "client id and secret present and well-formed" + (
                    "; LWA accepts them" if lwa_ok else run_doctor), {})
    if step == "authorization":
        if not has_refresh:
            return "todo", "no refresh token in the profile: authorize the app", {}
        fails, warns = credential_problems(None, None, settings.refresh_token)
        if fails:
            return "fail", "; ".join(fails), {}
        lwa = results.get("lwa")
        if lwa is not None and lwa.status == "fail" and \
                lwa.details.get("error") in ("invalid_grant", "access_denied"):
            return "fail", lwa.message, {}
        return ("done" if lwa_ok else "implied",
                "a refresh token is in the profile" + ("; LWA exchanges it" if lwa_ok
                                                       else run_doctor), {})
    if step == "first_call":
        if first is None or first.status == "skip":
            return "unknown", "not tried" + run_doctor, {}
        return ("done" if first.status == "pass" else first.status), first.message, {}
    if step == "notifications":
        n = results.get("notifications")
        if n is None:
            return "unknown", "not checked" + run_doctor, {}
        status = {"pass": "done", "skip": "unknown"}.get(n.status, n.status)
        return status, n.message, {}
    if step == "secret_expiry":
        s = results.get("secret_expiry")
        if s is None:
            return "unknown", "not checked", {}
        return {"pass": "done"}.get(s.status, s.status), s.message, s.details
    return "unknown", "", {}


# -- draft-profile -------------------------------------------------------------------------


@dataclass
class Draft:
    """One question of the developer profile and the drafted answer; ``blanks`` counts the
    ``[TO FILL: ...]`` the operator still has to write."""

    id: str
    question: str
    answer: str

    @property
    def blanks(self) -> int:
        return self.answer.count("[TO FILL:")

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "question": self.question, "answer": self.answer,
                "blanks": self.blanks}


def _blank(what: str) -> str:
    return f"[TO FILL: {what}]"


def _vault_installed() -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec("sellerkit.vault.evidence") is not None
    except ImportError:
        return False


def load_evidence(path: str | os.PathLike[str]) -> dict[str, list[str]]:
    """The vault's evidence pack (``evidence.json``, or the directory ``sellerkit vault
    evidence`` wrote it to) as ``{question id: [answer sentences and blanks]}``. The pack's
    ``[OPERATOR: ...]`` items (what only the operator can answer) become ``[TO FILL: ...]``."""
    p = Path(path).expanduser()
    if p.is_dir():
        p = p / "evidence.json"
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigurationError(f"cannot read the evidence pack {p}: {exc.strerror}") from None
    except ValueError as exc:
        raise ConfigurationError(f"the evidence pack {p} is not JSON: {exc}") from None
    answers = data.get("answers") if isinstance(data, dict) else None
    if not isinstance(answers, list):
        raise ConfigurationError(f"{p} is not an evidence pack (no 'answers' list); write one "
                                 "with: sellerkit vault evidence -o DIR")
    out: dict[str, list[str]] = {}
    for item in answers:
        if not isinstance(item, dict) or not isinstance(item.get("id"), str):
            continue
        parts = [str(x) for x in item.get("answer") or [] if x]
        parts += [_operator_blank(str(x)) for x in item.get("operator") or [] if x]
        out[item["id"]] = parts
    return out


def _operator_blank(text: str) -> str:
    inner = text.strip()
    if inner.startswith("[OPERATOR:") and inner.endswith("]"):
        inner = inner[len("[OPERATOR:"):-1].strip()
    return _blank(inner)


def draft_profile(*, answers: Mapping[str, Any] | None = None, profile: str | None = None,
                  config_file: str | os.PathLike[str] | None = None,
                  env: Mapping[str, str] | None = None,
                  evidence: Mapping[str, list[str]] | None = None) -> list[Draft]:
    """The drafts: business and use case, the features, one per role, one per security
    question. ``answers`` (from ``load_answers``) win over the profile's keys; a security
    answer comes from ``answers["security"]``, else from the vault's evidence pack
    (``load_evidence``), else it is a blank."""
    from sellerkit.emulator.roles import RESTRICTED_ROLES

    given = _normalise({k: v for k, v in _profile_table(profile, config_file, env).items()
                        if k in ANSWER_KEYS})
    given.update(_normalise(answers or {}))
    q = road_data()["questions"]
    drafts: list[Draft] = []
    name = given.get("business_name")
    use_case = given.get("use_case")
    who = name or _blank("your legal business name")
    app_type = given.get("app_type")
    access = ("only its own selling account (a private application)" if app_type == "private"
              else "the selling partners who authorize it (a public application)"
              if app_type == "public" else _blank("which selling accounts: only your own (a "
                                                  "private application) or those of the "
                                                  "sellers who authorize it (public)"))
    business = (f"{who} {_blank('what the business sells or offers, where, and since when')}. "
                f"We will use the Selling Partner API for: "
                f"{use_case or _blank('the use case: what the application does with Amazon data')}. "
                f"The application accesses {access}.")
    if given.get("website"):
        business += f" Our public website: {given['website']}."
    else:
        business += f" Our public website: {_blank('a live public URL (no log-in)')}."
    drafts.append(Draft("business", q["business"]["question"], business))
    roles: list[str] = list(given.get("roles") or [])
    features = given.get("features") or (
        f"{use_case}. {_blank('the features, one per requested role, and who uses them')}"
        if use_case else _blank("the application or features you build with these roles"))
    drafts.append(Draft("features", q["features"]["question"], str(features)))
    reasons = given.get("role_reasons") or {}
    restricted_names = {r.lower() for r in RESTRICTED_ROLES}
    for role in roles:
        is_restricted = (role.lower().removesuffix(" (restricted)") in restricted_names
                         or role.lower().startswith("direct-to-consumer"))
        template = q["role"]["restricted_question" if is_restricted else "question"]
        reason = reasons.get(role)
        if reason:
            answer = str(reason)
        else:
            answer = _blank(f"why the application needs {role}: the operations or "
                            "reports it calls and the feature they serve")
            if is_restricted:
                answer += " " + _blank("which PII, for which step of fulfilment or tax, and "
                                       "how long it is kept (at most 30 days after delivery)")
        drafts.append(Draft(f"role:{role}", template.format(role=role), answer))
    if not roles:
        drafts.append(Draft("role", q["role"]["question"].format(role="<role>"),
                            _blank("the roles you request (sellerkit init --role, or roles in "
                                   "the answers file), and a reason for each")))
    security = given.get("security") or {}
    vault = _vault_installed()
    for item in q["security"]:
        qid = item["id"]
        found = security.get(qid)
        pack = (evidence or {}).get(qid)
        if found:
            text = str(found)
        elif pack:
            text = " ".join(pack)
        elif qid == "privacy-policy" and given.get("website"):
            text = _blank(f"the URL of the privacy policy on {given['website']}")
        elif evidence is not None:
            text = _blank("the evidence pack has no answer to this: the operator's to write")
        elif vault:
            text = _blank("the operator's, or the vault's evidence pack: sellerkit vault "
                          "evidence -o DIR, then draft-profile --evidence DIR")
        else:
            text = _blank("the operator's to write (the vault, whose evidence pack answers "
                          "much of this, is not installed)")
        drafts.append(Draft(f"security:{qid}", item["question"], text))
    return drafts


def render_draft(drafts: list[Draft]) -> str:
    """The drafts as Markdown: each question restated, then the draft answer."""
    lines = ["# Developer profile: draft answers", "",
             "Drafted by `sellerkit road draft-profile`. Every `[TO FILL: ...]` is yours to "
             "write; nothing else was invented.", ""]
    for d in drafts:
        lines += [f"## {d.question}", "", d.answer, ""]
    blanks = sum(d.blanks for d in drafts)
    lines.append(f"_{blanks} blank(s) to fill._")
    return "\n".join(lines) + "\n"
