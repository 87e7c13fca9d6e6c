"""The typed settings of an event: registration fields, certificate options, question
settings, the direct-link flag and auto-recording, with their checks and how a change is put in.

A setting nobody set is `UNSET` and left out of the stored record and of every
view of the event, so an event shows exactly the settings that were given; the
module that reads a setting gives its default (`registration.fields_of`,
`certificates.settings_of`, `question_settings.settings_of`).

Before settings were typed they were stored unchecked, so a stored event may hold
values of the wrong shape; `from_stored` keeps what fits and leaves the rest unset.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

import msgspec
from msgspec import UNSET, UnsetType

from room.errors import invalid

MAX_FIELDS = 30

FieldId = Annotated[str, msgspec.Meta(pattern=r"^[a-z][a-z0-9_]{0,39}$")]
Label = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Choice = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
RESERVED_FIELDS = frozenset({"email", "name"})

DEFAULT_COLOUR = "#1d2330"
DEFAULT_ACCENT = "#3557e0"
Colour = Annotated[str, msgspec.Meta(pattern=r"^#[0-9a-fA-F]{6}$")]
Signer = Annotated[str, msgspec.Meta(max_length=200)]


class Visibility(StrEnum):
    """What participants see of other people's questions (event setting `question_visibility`)."""

    NONE = "none"
    """Only staff see questions; a participant sees his own."""
    APPROVED = "approved"
    """Participants see the questions a moderator approved (a moderation queue)."""
    ALL = "all"
    """Participants see every question that is not hidden."""


class FieldKind(StrEnum):
    TEXT = "text"
    CHOICE = "choice"
    CHECKBOX = "checkbox"


class RegistrationField(msgspec.Struct, forbid_unknown_fields=True):
    """One custom question of the registration form."""

    id: FieldId
    label: Label
    kind: FieldKind = FieldKind.TEXT
    required: bool = False
    choices: Annotated[list[Choice], msgspec.Meta(max_length=50)] = msgspec.field(
        default_factory=list
    )


class CertificateSettings(msgspec.Struct, forbid_unknown_fields=True):
    """The organizer's certificate options (R-CERT)."""

    enabled: bool = False
    colour: Colour = DEFAULT_COLOUR
    accent: Colour = DEFAULT_ACCENT
    signer: Signer = ""


def _fields_problem(fields: list[RegistrationField]) -> str | None:
    """What is wrong with a list of registration fields beyond their types, if anything."""
    if len(fields) > MAX_FIELDS:
        return f"at most {MAX_FIELDS} registration fields"
    seen: set[str] = set()
    for f in fields:
        if f.id in RESERVED_FIELDS or f.id in seen:
            return f"field id {f.id!r} is reserved or repeated"
        seen.add(f.id)
        if f.kind is FieldKind.CHOICE and not f.choices:
            return f"choice field {f.id!r} needs choices"
        if f.kind is not FieldKind.CHOICE and f.choices:
            return f"only choice fields have choices ({f.id!r})"
    return None


class EventSettings(msgspec.Struct):
    """`Event.settings`. The field order is the order the dashboard has always written
    them in, which keeps the JSON of events it made the same byte for byte."""

    registration_fields: list[RegistrationField] | UnsetType = UNSET
    certificate: CertificateSettings | UnsetType = UNSET
    question_visibility: Visibility | UnsetType = UNSET
    anonymous_questions: bool | UnsetType = UNSET
    """Participants may ask anonymously (unset: they may)."""
    direct_link: bool | UnsetType = UNSET
    """Kept by `room.audience.access.set_direct_link`; nothing else writes it."""
    auto_record: bool | UnsetType = UNSET
    """A recording starts by itself when the event goes live (unset: it does not)."""
    replay_mail: bool | UnsetType = UNSET
    """The audience is mailed its replay link once the event is on demand (unset: it is)."""

    def __post_init__(self) -> None:
        # Also runs when a stored event is decoded, so a field list stored unchecked
        # that breaks these rules is refused there and `from_stored` leaves it unset.
        if self.registration_fields is not UNSET:
            problem = _fields_problem(self.registration_fields)
            if problem is not None:
                raise ValueError(problem)


class SettingsChange(msgspec.Struct, forbid_unknown_fields=True):
    """Settings given by the events API or the dashboard; a setting absent or null is left
    as it is. Registration fields and the certificate are free-form here so that
    `updated` checks them with the messages the dashboard has always shown."""

    registration_fields: list[Any] | None = None
    certificate: dict[str, Any] | None = None
    question_visibility: Visibility | None = None
    anonymous_questions: bool | None = None
    direct_link: bool | None = None
    """Accepted so that an event read from the API can be sent back as it is, and
    ignored: the direct-link route keeps this flag with the link itself."""
    auto_record: bool | None = None
    replay_mail: bool | None = None


def parse_fields(raw: Any) -> list[RegistrationField]:
    """Validate a list of field definitions, or `invalid` naming `registration_fields`."""
    if raw is None:
        return []
    try:
        fields = msgspec.convert(raw, list[RegistrationField], strict=True)
    except msgspec.ValidationError as exc:
        raise invalid(f"registration fields: {exc}"[:300], "registration_fields") from None
    problem = _fields_problem(fields)
    if problem is not None:
        raise invalid(problem, "registration_fields")
    return fields


def parse_certificate(raw: Any) -> CertificateSettings:
    """Validate the certificate options, or `invalid` naming `certificate`."""
    try:
        return msgspec.convert(raw, CertificateSettings, strict=True)
    except msgspec.ValidationError as exc:
        raise invalid(f"certificate: {exc}"[:300], "certificate") from None


def updated(current: EventSettings, change: SettingsChange) -> EventSettings:
    """`current` with the settings `change` gives checked and put in."""
    new = msgspec.structs.replace(current)
    if change.registration_fields is not None:
        new.registration_fields = parse_fields(change.registration_fields)
    if change.certificate is not None:
        new.certificate = parse_certificate(change.certificate)
    if change.question_visibility is not None:
        new.question_visibility = change.question_visibility
    if change.anonymous_questions is not None:
        new.anonymous_questions = change.anonymous_questions
    if change.auto_record is not None:
        new.auto_record = change.auto_record
    if change.replay_mail is not None:
        new.replay_mail = change.replay_mail
    return new


def _fitting(kind: type[msgspec.Struct], raw: dict[Any, Any]) -> dict[str, Any]:
    """The entries of `raw` that are fields of `kind` holding a value of their type."""
    kept: dict[str, Any] = {}
    for name in kind.__struct_fields__:
        if name not in raw:
            continue
        try:
            msgspec.convert({name: raw[name]}, kind, strict=True)
        except msgspec.ValidationError:
            continue
        kept[name] = raw[name]
    return kept


def from_stored(raw: Any) -> EventSettings:
    """Settings as an older version stored them, unchecked: unknown keys are dropped and
    a value of the wrong shape is left unset, so its default holds. Certificate options
    are kept one by one, as they were always read: a bad colour does not switch
    certificates off."""
    if not isinstance(raw, dict):
        return EventSettings()
    kept = _fitting(EventSettings, raw)
    cert = raw.get("certificate")
    if "certificate" not in kept and isinstance(cert, dict):
        kept["certificate"] = _fitting(CertificateSettings, cert)
    return msgspec.convert(kept, EventSettings, strict=True)
