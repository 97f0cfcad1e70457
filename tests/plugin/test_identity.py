"""Identity for withdrawals: ID numbers checked to GB 11643-1999, names checked, masks that reveal
only what they say, sealing that round-trips and a hash that finds the same person."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from plugin.errors import InvalidSetting
from plugin.platforms.vault import Vault
from plugin.withdrawals.identity import (
    IdentityUnreadable,
    InvalidIdentity,
    SealedIdentity,
    age_on,
    birth_date,
    check_id_number,
    check_real_name,
    hash_id_number,
    is_adult,
    mask_id_number,
    mask_name,
    seal,
    unseal,
)

TODAY = date(2026, 11, 23)
PROVINCES = [
    *range(11, 16),
    *range(21, 24),
    *range(31, 38),
    *range(41, 47),
    *range(50, 55),
    *range(61, 66),
    71,
    *(81, 82, 83),  # Hong Kong, Macao and Taiwan residents' residence permits
]
# GB 11643-1999's own examples: Beijing Chaoyang 1949-12-31 (check X), Guangdong Chaoyang 1880-01-01
STANDARD_SAMPLE = "11010519491231002X"
STANDARD_SAMPLE_1880 = "440524188001010014"


def with_check(body: str) -> str:
    """The 17-digit body with its check character, from ISO 7064 MOD 11-2's defining rule (the
    weighted sum with weights 2^17 ... 2^0 of all 18 characters is 1 modulo 11), not the
    weight table the code uses."""
    total = sum(int(digit) * 2 ** (17 - i) for i, digit in enumerate(body))
    (check,) = [c for c in "0123456789X" if (total + (10 if c == "X" else int(c))) % 11 == 1]
    return body + check


def refusal(text: str, **kwargs) -> str:
    with pytest.raises(InvalidIdentity) as caught:
        check_id_number(text, **kwargs)
    assert caught.value.field == "id_number"
    return caught.value.message


def name_refusal(text: str) -> str:
    with pytest.raises(InvalidIdentity) as caught:
        check_real_name(text)
    assert caught.value.field == "real_name"
    return caught.value.message


@st.composite
def id_numbers(draw) -> str:
    region = f"{draw(st.sampled_from(PROVINCES))}{draw(st.integers(0, 9999)):04d}"
    born = draw(st.dates(min_value=date(1900, 1, 1), max_value=TODAY))
    return with_check(f"{region}{born:%Y%m%d}{draw(st.integers(0, 999)):03d}")


# ---- ID numbers ----------------------------------------------------------------------------


def test_the_standards_sample_is_accepted_and_a_lower_case_x_is_made_upper_case():
    assert check_id_number(STANDARD_SAMPLE) == STANDARD_SAMPLE
    assert check_id_number("11010519491231002x") == STANDARD_SAMPLE


def test_the_standards_1880_sample_has_a_right_check_digit_but_is_refused_for_its_year():
    assert with_check(STANDARD_SAMPLE_1880[:17]) == STANDARD_SAMPLE_1880
    assert refusal(STANDARD_SAMPLE_1880) == (
        "the birth date in the ID number is before 1900: please check the number"
    )


@pytest.mark.parametrize(
    "body",
    [
        "44030419900307123",  # Shenzhen, check X
        "31011519851111002",
        "51010720000229001",  # born on a 29 February
        "65010219760704567",
        "81000019950815003",  # Hong Kong resident's permit
        "82000019880808002",  # Macao
        "83000020010101004",  # Taiwan
    ],
)
def test_numbers_with_their_computed_check_character_are_accepted(body):
    number = with_check(body)
    assert check_id_number(number, today=TODAY) == number
    assert check_id_number(number.lower(), today=TODAY) == number


@given(id_numbers())
def test_every_well_formed_number_is_accepted_unchanged(number):
    assert check_id_number(number, today=TODAY) == number


@given(id_numbers(), st.integers(0, 17), st.data())
def test_every_single_character_corruption_is_refused(number, position, data):
    choices = "0123456789X" if position == 17 else "0123456789"
    other = data.draw(st.sampled_from([c for c in choices if c != number[position]]))
    corrupted = number[:position] + other + number[position + 1 :]
    with pytest.raises(InvalidIdentity) as caught:
        check_id_number(corrupted, today=TODAY)
    assert caught.value.field == "id_number"


@given(id_numbers(), st.integers(0, 99))
def test_only_the_known_province_codes_are_accepted(number, prefix):
    candidate = with_check(f"{prefix:02d}{number[2:17]}")
    if prefix in PROVINCES:
        assert check_id_number(candidate, today=TODAY) == candidate
    else:
        with pytest.raises(InvalidIdentity):
            check_id_number(candidate, today=TODAY)


@pytest.mark.parametrize(
    "prefix", ["10", "16", "20", "24", "39", "47", "55", "60", "66", "70", "72", "80", "84"]
)
def test_a_number_outside_the_provinces_is_refused_for_its_region(prefix):
    number = with_check(f"{prefix}010519491231002")
    assert refusal(number) == "the ID number does not start with a province code: please check the number"


def test_a_foreign_permanent_residents_number_is_refused_with_its_own_message():
    number = with_check("91101519850101001")
    assert refusal(number) == (
        "foreign permanent resident ID cards (numbers starting with 9) are not accepted yet"
    )


@pytest.mark.parametrize("born", ["19490230", "20230229", "19491301", "19490001", "19491200", "00000000"])
def test_a_birth_date_that_is_not_a_date_is_refused(born):
    number = with_check(f"110105{born}002")
    assert refusal(number) == "the birth date in the ID number is not a real date: please check the number"


def test_birth_dates_from_1900_to_today_are_accepted_and_outside_refused():
    for born in (date(1900, 1, 1), date(2024, 2, 29), TODAY):
        number = with_check(f"110105{born:%Y%m%d}002")
        assert check_id_number(number, today=TODAY) == number
    assert "before 1900" in refusal(with_check("11010518991231002"), today=TODAY)
    tomorrow = TODAY + timedelta(days=1)
    assert refusal(with_check(f"110105{tomorrow:%Y%m%d}002"), today=TODAY) == (
        "the birth date in the ID number is in the future: please check the number"
    )


def test_the_check_digit_message_is_plain():
    assert refusal("110105194912310021") == (
        "the ID number's check digit does not match: please check the number"
    )


def test_a_fifteen_digit_first_generation_number_is_refused_asking_for_eighteen_digits():
    assert refusal("110105491231002") == (
        "15-digit ID numbers of first-generation cards are no longer valid: "
        "please enter the 18-digit number on your current ID card"
    )


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "enter the 18-digit number on your ID card"),
        ("  \t", "enter the 18-digit number on your ID card"),
        ("110105 19491231002X", "the ID number must not contain spaces"),
        ("110105\t19491231002X", "the ID number must not contain spaces"),
        ("11010519491231002", "the ID number must have 18 characters, not 17"),
        ("11010519491231002X1", "the ID number must have 18 characters, not 19"),
        ("1101051949123100X2", "the ID number must be 17 digits followed by a digit or X"),
        ("110105-19491231-02", "the ID number must be 17 digits followed by a digit or X"),
        ("11010519491231002Y", "the ID number must be 17 digits followed by a digit or X"),
        ("١١٠١٠٥١٩٤٩١٢٣١٠٠٢X", "the ID number must be 17 digits followed by a digit or X"),
    ],
)
def test_malformed_numbers_are_refused_with_what_is_wrong(text, message):
    assert refusal(text) == message


def test_surrounding_whitespace_and_full_width_characters_are_normalized():
    assert check_id_number(f" \t{STANDARD_SAMPLE}\n") == STANDARD_SAMPLE
    assert check_id_number("\u3000１１０１０５１９４９１２３１００２ｘ") == STANDARD_SAMPLE


def test_a_refusal_is_an_invalid_setting_the_api_answers_with_422():
    with pytest.raises(InvalidSetting) as caught:
        check_id_number("110105194912310021")
    assert caught.value.status == 422
    assert caught.value.to_dict() == {
        "code": "invalid_identity",
        "message": "the ID number's check digit does not match: please check the number",
        "field": "id_number",
    }


# ---- names ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, name",
    [
        ("王五", "王五"),
        ("  欧阳 锋 ", "欧阳锋"),
        ("阿依古丽·买买提", "阿依古丽·买买提"),
        ("阿依古丽 ・ 买买提", "阿依古丽·买买提"),  # a katakana middle dot, spaces around it
        ("𠇔明", "𠇔明"),  # an Extension B character
        ("John  Smith", "John Smith"),
        ("\tAnne-Marie O\u2019Neil ", "Anne-Marie O'Neil"),
        ("José Núñez", "José Núñez"),
        ("Ｌｉ Ｌｅｉ", "Li Lei"),
        ("王" * 60, "王" * 60),
    ],
)
def test_real_names_are_accepted_and_normalized(text, name):
    assert check_real_name(text) == name


@pytest.mark.parametrize(
    "text, message",
    [
        ("   ", "enter your real name as it is on your ID card"),
        ("王小明2", "the real name must not contain digits"),
        ("John Smith 3rd", "the real name must not contain digits"),
        ("王", "the real name must be 2 to 60 characters long"),
        ("J", "the real name must be 2 to 60 characters long"),
        ("王" * 61, "the real name must be 2 to 60 characters long"),
        ("A" * 61, "the real name must be 2 to 60 characters long"),
        ("王Lucy", "the real name must be written in Chinese characters or in Latin letters, not a mix"),
        ("Lucy王", "the real name must be written in Chinese characters or in Latin letters, not a mix"),
        ("John_Smith", "the real name must be written in Chinese characters or in Latin letters, not a mix"),
        ("Иван Петров", "the real name must be written in Chinese characters or in Latin letters, not a mix"),
        ("王五!", "the real name must be written in Chinese characters or in Latin letters, not a mix"),
        ("·王五", "the · may only stand between two parts of the name"),
        ("王五·", "the · may only stand between two parts of the name"),
        ("王··五", "the · may only stand between two parts of the name"),
        ("John--Smith", "spaces, hyphens and apostrophes may only stand between letters"),
        ("-John", "spaces, hyphens and apostrophes may only stand between letters"),
        ("John' Smith", "spaces, hyphens and apostrophes may only stand between letters"),
    ],
)
def test_names_that_cannot_be_on_an_id_card_are_refused(text, message):
    assert name_refusal(text) == message


# ---- masks ---------------------------------------------------------------------------------


def test_an_id_number_shows_its_first_three_and_last_four_characters():
    assert mask_id_number(STANDARD_SAMPLE) == "110***********002X"


@given(id_numbers())
def test_a_masked_number_keeps_its_length_and_reveals_only_its_ends(number):
    masked = mask_id_number(number)
    assert len(masked) == len(number)
    assert masked[:3] == number[:3] and masked[-4:] == number[-4:]
    assert set(masked[3:-4]) == {"*"}


def test_a_short_text_is_masked_whole():
    assert mask_id_number("1234567") == "*******"


@pytest.mark.parametrize(
    "name, masked",
    [
        ("王五", "王*"),
        ("欧阳锋", "欧**"),  # a compound surname shows its first character only
        ("阿依古丽·买买提", "阿*******"),
        ("John Smith", "J*** S****"),
        ("Anne-Marie O'Neil", "A********* O*****"),
    ],
)
def test_a_name_shows_only_its_first_character_or_each_words_first_letter(name, masked):
    assert mask_name(name) == masked


names = st.one_of(
    st.text(st.sampled_from("王李欧阳锋买提·"), min_size=2, max_size=30),
    st.lists(st.text(st.sampled_from("abcXYZé-'"), min_size=1, max_size=8), min_size=1, max_size=3).map(
        " ".join
    ),
)


@given(names)
def test_a_masked_name_keeps_its_length_and_reveals_only_what_it_says(text):
    try:
        name = check_real_name(text)
    except InvalidIdentity:
        return
    masked = mask_name(name)
    assert len(masked) == len(name)
    shown = [i for i, ch in enumerate(masked) if ch != "*"]
    if "\u4e00" <= name[0] <= "\u9fff":
        assert shown == [0]
    else:
        words = [i for i, ch in enumerate(name) if ch != " " and (i == 0 or name[i - 1] == " ")]
        spaces = [i for i, ch in enumerate(name) if ch == " "]
        assert shown == sorted(words + spaces)
    assert all(masked[i] == name[i] for i in shown)


# ---- birth date and adulthood ----------------------------------------------------------------


def test_the_birth_date_is_read_from_the_number():
    assert birth_date(STANDARD_SAMPLE) == date(1949, 12, 31)
    with pytest.raises(InvalidIdentity):
        birth_date("110105194912310021")


def born_on(day: date) -> str:
    return with_check(f"110105{day:%Y%m%d}002")


def test_the_18th_birthday_itself_is_still_a_minors_day():
    number = born_on(date(2008, 5, 10))
    assert age_on(number, date(2026, 5, 10)) == 17 and not is_adult(number, date(2026, 5, 10))
    assert age_on(number, date(2026, 5, 11)) == 18 and is_adult(number, date(2026, 5, 11))


def test_a_29_february_birth_turns_a_year_older_on_1_march_in_common_years():
    number = born_on(date(2008, 2, 29))
    assert not is_adult(number, date(2026, 2, 28)) and is_adult(number, date(2026, 3, 1))
    assert age_on(number, date(2026, 2, 28)) == 17 and age_on(number, date(2026, 3, 1)) == 18
    assert age_on(number, date(2024, 2, 29)) == 15 and age_on(number, date(2024, 3, 1)) == 16


def test_a_29_february_birth_reaches_18_in_a_leap_year_the_day_after_its_birthday():
    number = born_on(date(2004, 2, 29))
    assert not is_adult(number, date(2022, 2, 28)) and is_adult(number, date(2022, 3, 1))
    eve = born_on(date(2006, 2, 28))
    assert not is_adult(eve, date(2024, 2, 28)) and is_adult(eve, date(2024, 2, 29))


def test_age_starts_at_zero_and_is_not_asked_before_birth():
    number = born_on(date(2020, 6, 1))
    assert age_on(number, date(2020, 6, 1)) == 0 and age_on(number, date(2021, 6, 1)) == 0
    assert age_on(number, date(2021, 6, 2)) == 1
    assert not is_adult(number, date(2020, 5, 31))
    with pytest.raises(ValueError):
        age_on(number, date(2020, 5, 31))


@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2025, 12, 31)), st.integers(0, 40000))
def test_adulthood_is_an_age_of_18(born, days):
    number, day = born_on(born), born + timedelta(days=days)
    assert is_adult(number, day) == (age_on(number, day) >= 18)


# ---- sealing ---------------------------------------------------------------------------------

PEPPER = "app secret key"


def test_an_identity_is_sealed_masked_and_opened_again():
    vault = Vault("key one")
    sealed = seal(vault, " 王 五 ", "11010519491231002x", pepper=PEPPER)
    assert (sealed.masked_name, sealed.masked_id) == ("王*", "110***********002X")
    assert "王五" not in sealed.real_name_sealed and STANDARD_SAMPLE not in sealed.id_number_sealed
    assert unseal(vault, sealed) == ("王五", STANDARD_SAMPLE)


def test_another_key_cannot_unseal():
    sealed = seal(Vault("key one"), "王五", STANDARD_SAMPLE, pepper=PEPPER)
    with pytest.raises(IdentityUnreadable) as caught:
        unseal(Vault("key two"), sealed)
    assert caught.value.status == 409


def test_an_invalid_identity_is_not_sealed():
    with pytest.raises(InvalidIdentity) as caught:
        seal(Vault("k"), "王五", "110105194912310021", pepper=PEPPER)
    assert caught.value.field == "id_number"
    with pytest.raises(InvalidIdentity) as caught:
        seal(Vault("k"), "王5", STANDARD_SAMPLE, pepper=PEPPER)
    assert caught.value.field == "real_name"


def test_a_sealed_identity_is_frozen():
    sealed = seal(Vault("k"), "王五", STANDARD_SAMPLE, pepper=PEPPER)
    assert isinstance(sealed, SealedIdentity)
    with pytest.raises(dataclasses.FrozenInstanceError):
        sealed.masked_name = "王五"


def test_the_hash_finds_the_same_number_under_one_pepper_only():
    one = seal(Vault("key one"), "王五", STANDARD_SAMPLE, pepper=PEPPER)
    two = seal(Vault("key two"), "Wang Wu", " 11010519491231002x ", pepper=PEPPER)
    assert one.real_name_sealed != two.real_name_sealed
    assert one.id_number_hash == two.id_number_hash == hash_id_number(STANDARD_SAMPLE, pepper=PEPPER)
    expected = hmac.new(PEPPER.encode(), STANDARD_SAMPLE.encode(), hashlib.sha256).hexdigest()
    assert one.id_number_hash == expected
    assert hash_id_number(STANDARD_SAMPLE, pepper="another key") != expected
    other = with_check("44030419900307123")
    assert hash_id_number(other, pepper=PEPPER) != expected


def test_the_hash_needs_a_pepper():
    with pytest.raises(ValueError):
        hash_id_number(STANDARD_SAMPLE, pepper="")
