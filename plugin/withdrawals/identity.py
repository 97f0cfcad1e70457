"""A distributor's identity for withdrawals: real name and ID number, checked, sealed, masked.

The ID number is a citizen identity number as GB 11643-1999 defines it: a 6-digit address code,
the birth date (YYYYMMDD), a 3-digit sequence and an ISO 7064 MOD 11-2 check character (``X``
stands for 10). What is accepted, and why:

- The first two digits are a province-level code of GB/T 2260 (``REGIONS``), or 81, 82, 83: the
  numbers on the residence permits of Hong Kong, Macao and Taiwan residents (address codes
  810000, 820000 and 830000, same standard, same checksum).
- The 15-digit numbers of first-generation cards are refused: those cards stopped being valid
  on 1 January 2013, and the 18-digit number is the one tax filings and payout gateways take.
- Numbers starting with 9 (the 2023 foreign permanent resident ID card) are refused for now:
  their holders are taxed under other rules; accepting them is a change here plus those rules.
- Birth dates before 1900 or after today are refused: they are typing errors, not people.

Adulthood follows Chinese law's way of counting a period (Civil Code arts. 201-202; the Supreme
People's Court counts a minor's age the same way): the birth day itself does not count, so a
person turns 18 the day *after* the 18th birthday, and someone born on 29 February turns a year
older on 1 March in common years (the period ends on the month's last day).

Stored, the name and number are sealed with the ``Vault`` (Fernet under a key derived from the
app's secret key) beside their masked forms, and the number is also kept as an HMAC-SHA256
under a pepper, the app's secret key itself, so one person's payouts can be found and summed for
tax across distributors without decrypting anything. The pepper is what makes the hash safe: ID
numbers are few enough to enumerate, so an unkeyed hash would give them away. Changing the
secret key therefore makes stored identities unreadable and changes their hashes: distributors
enter their identity again, as shops connect their platform again.
"""

from __future__ import annotations

import hashlib
import hmac
import unicodedata
from dataclasses import dataclass
from datetime import date
from itertools import pairwise

from plugin.errors import FenxiaoError, InvalidSetting
from plugin.platforms.vault import Vault

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARACTERS = "10X98765432"  # indexed by the weighted sum modulo 11
REGIONS = frozenset(
    str(code)
    for low, high in ((11, 15), (21, 23), (31, 37), (41, 46), (50, 54), (61, 65), (71, 71), (81, 83))
    for code in range(low, high + 1)
)
EARLIEST_BIRTH = date(1900, 1, 1)
ADULT_AGE = 18
NAME_LENGTH = (2, 60)  # long Western names ("Maria Fernanda Rodriguez Gonzalez" is 33)
MIDDLE_DOT = "·"  # U+00B7, between the parts of a minority or transliterated name
_ONE_SCRIPT = "the real name must be written in Chinese characters or in Latin letters, not a mix"

DIGITS = frozenset("0123456789")
# Chinese keyboards type full-width letters, digits and spaces; fold them to ASCII.
FULL_WIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}
LOOK_ALIKES = {ord(ch): MIDDLE_DOT for ch in "\u30fb\uff65\u2027\u2022\u2219\u22c5"} | {
    ord(ch): "'" for ch in "\u2018\u2019\u02bc"
}


class InvalidIdentity(InvalidSetting):
    """A real name or ID number that cannot be right; the message says what to fix (HTTP 422)."""

    code = "invalid_identity"


class IdentityUnreadable(FenxiaoError):
    """A stored identity sealed under another secret key: it must be entered again (HTTP 409)."""

    code = "identity_unreadable"
    status = 409


def check_id_number(text: str, *, today: date | None = None) -> str:
    """The ID number, normalized (no surrounding spaces, an upper-case ``X``), if it can be right.

    Args:
        text: the number as the distributor typed it.
        today: the day a birth date may not be after; the current date by default.

    Raises:
        InvalidIdentity: with field ``id_number`` and a message saying what is wrong.
    """
    number = text.translate(FULL_WIDTH).strip()
    if not number:
        raise _bad_number("enter the 18-digit number on your ID card")
    if any(ch.isspace() for ch in number):
        raise _bad_number("the ID number must not contain spaces")
    number = number[:-1] + number[-1].upper()
    if len(number) == 15 and set(number) <= DIGITS:
        raise _bad_number(
            "15-digit ID numbers of first-generation cards are no longer valid: "
            "please enter the 18-digit number on your current ID card"
        )
    if len(number) != 18:
        raise _bad_number(f"the ID number must have 18 characters, not {len(number)}")
    if not (set(number[:17]) <= DIGITS and number[17] in "0123456789X"):
        raise _bad_number("the ID number must be 17 digits followed by a digit or X")
    if number[0] == "9":
        raise _bad_number(
            "foreign permanent resident ID cards (numbers starting with 9) are not accepted yet"
        )
    if number[:2] not in REGIONS:
        raise _bad_number("the ID number does not start with a province code: please check the number")
    born = _birth_date_in(number)
    if born < EARLIEST_BIRTH:
        raise _bad_number("the birth date in the ID number is before 1900: please check the number")
    if born > (today or date.today()):
        raise _bad_number("the birth date in the ID number is in the future: please check the number")
    if _check_character(number[:17]) != number[17]:
        raise _bad_number("the ID number's check digit does not match: please check the number")
    return number


def check_real_name(text: str) -> str:
    """The real name, normalized, if it can be a name on an ID card.

    A Chinese name is Chinese characters, with a middle dot ``·`` between the parts of a
    minority or transliterated name; spaces are dropped and look-alike dots become ``·``. A
    Latin name is letters, with single spaces, hyphens or apostrophes between them. A name is
    one or the other, 2 to 60 characters, and has no digits.

    Raises:
        InvalidIdentity: with field ``real_name`` and a message saying what is wrong.
    """
    name = " ".join(text.translate(FULL_WIDTH).translate(LOOK_ALIKES).split())
    if not name:
        raise _bad_name("enter your real name as it is on your ID card")
    if any(ch.isdigit() for ch in name):
        raise _bad_name("the real name must not contain digits")
    if _is_chinese(name[0]) or name[0] == MIDDLE_DOT:
        name = name.replace(" ", "")
        if not all(_is_chinese(ch) or ch == MIDDLE_DOT for ch in name):
            raise _bad_name(_ONE_SCRIPT)
        if MIDDLE_DOT in (name[0], name[-1]) or MIDDLE_DOT * 2 in name:
            raise _bad_name("the · may only stand between two parts of the name")
    else:
        if not all(_is_latin(ch) or ch in " -'" for ch in name):
            raise _bad_name(_ONE_SCRIPT)
        separators = [ch in " -'" for ch in name]
        if separators[0] or separators[-1] or any(a and b for a, b in pairwise(separators)):
            raise _bad_name("spaces, hyphens and apostrophes may only stand between letters")
    low, high = NAME_LENGTH
    if not low <= len(name) <= high:
        raise _bad_name(f"the real name must be {low} to {high} characters long")
    return name


def mask_id_number(number: str) -> str:
    """The number with all but its first 3 and last 4 characters as ``*``, its length kept."""
    if len(number) <= 7:
        return "*" * len(number)
    return number[:3] + "*" * (len(number) - 7) + number[-4:]


def mask_name(name: str) -> str:
    """A Chinese name's first character then one ``*`` per other character ("王*", "欧**": a
    compound surname shows its first character only), or a Latin name's words each as its
    first letter then one ``*`` per other character ("J*** S****")."""
    if name and _is_chinese(name[0]):
        return name[0] + "*" * (len(name) - 1)
    return " ".join(word[0] + "*" * (len(word) - 1) for word in name.split())


def birth_date(number: str) -> date:
    """The birth date an ID number carries (the number is checked first)."""
    return _birth_date_in(check_id_number(number))


def age_on(number: str, day: date) -> int:
    """Completed years of age on ``day``, as the law counts them (a year ends with the birthday).

    Raises:
        ValueError: ``day`` is before the birth date.
    """
    born = birth_date(number)
    if day < born:
        raise ValueError(f"{day} is before the birth date")
    years = day.year - born.year
    if _anniversary(born, day.year) >= day:
        years -= 1
    return max(years, 0)


def is_adult(number: str, day: date) -> bool:
    """Whether the holder is 18 or older on ``day``: from the day after the 18th birthday."""
    born = birth_date(number)
    return day > _anniversary(born, born.year + ADULT_AGE)


@dataclass(frozen=True)
class SealedIdentity:
    """What is stored of an identity: the name and number sealed, the number's keyed hash for
    finding the same person, and the masked forms shown to distributors and operators."""

    real_name_sealed: str
    id_number_sealed: str
    id_number_hash: str
    masked_name: str
    masked_id: str


def hash_id_number(number: str, *, pepper: str) -> str:
    """HMAC-SHA256 of the normalized number under ``pepper`` (the app's secret key), in hex."""
    if not pepper:
        raise ValueError("hashing an ID number needs a pepper: the app's secret key")
    normalized = check_id_number(number)
    return hmac.new(pepper.encode("utf-8"), normalized.encode("ascii"), hashlib.sha256).hexdigest()


def seal(vault: Vault, real_name: str, id_number: str, *, pepper: str) -> SealedIdentity:
    """Check and normalize the name and number, then seal, hash and mask them for storage.

    Raises:
        InvalidIdentity: the name or the number cannot be right.
    """
    name, number = check_real_name(real_name), check_id_number(id_number)
    return SealedIdentity(
        real_name_sealed=vault.seal(name),
        id_number_sealed=vault.seal(number),
        id_number_hash=hash_id_number(number, pepper=pepper),
        masked_name=mask_name(name),
        masked_id=mask_id_number(number),
    )


def unseal(vault: Vault, sealed: SealedIdentity) -> tuple[str, str]:
    """The real name and ID number of a stored identity.

    Raises:
        IdentityUnreadable: it was sealed under another secret key.
    """
    name, number = vault.open(sealed.real_name_sealed), vault.open(sealed.id_number_sealed)
    if name is None or number is None:
        raise IdentityUnreadable("the stored identity cannot be read any more: please enter it again")
    return name, number


def _bad_number(message: str) -> InvalidIdentity:
    return InvalidIdentity(message, "id_number")


def _bad_name(message: str) -> InvalidIdentity:
    return InvalidIdentity(message, "real_name")


def _check_character(body: str) -> str:
    return CHECK_CHARACTERS[
        sum(int(digit) * weight for digit, weight in zip(body, WEIGHTS, strict=True)) % 11
    ]


def _birth_date_in(number: str) -> date:
    try:
        return date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise _bad_number("the birth date in the ID number is not a real date: please check the number")


def _anniversary(born: date, year: int) -> date:
    """The last day of the year of age ending in ``year``: the birthday, or 28 February for
    someone born on the 29th in a common year (the month's last day, Civil Code art. 202)."""
    try:
        return born.replace(year=year)
    except ValueError:
        return date(year, 2, 28)


def _is_chinese(ch: str) -> bool:
    return unicodedata.name(ch, "").startswith(("CJK UNIFIED IDEOGRAPH", "CJK COMPATIBILITY IDEOGRAPH"))


def _is_latin(ch: str) -> bool:
    return ch.isalpha() and unicodedata.name(ch, "").startswith("LATIN ")
