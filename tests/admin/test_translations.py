"""Every page in both languages: each area's strings are translated, and what Flask-Babel reads
(the compiled ``.mo``) is what the ``.po`` says."""

from __future__ import annotations

import pytest
from babel.messages.mofile import read_mo

from admin import catalogs
from admin.views import AREAS
from tests.admin.conftest import post

DOMAINS = [area.domain for area in AREAS]


@pytest.mark.parametrize("domain", DOMAINS)
def test_every_string_of_the_area_is_translated(domain):
    source = catalogs.extract(domain)
    assert len(source) > 0
    translated = catalogs.read("zh_Hans_CN", domain)
    missing = [
        m.id
        for m in source
        if m.id and not (translated.get(m.id) and catalogs.is_translated(translated.get(m.id)))
    ]
    assert missing == [], f"run `python -m admin.catalogs` and translate these in {domain}.po"


@pytest.mark.parametrize("domain", DOMAINS)
def test_the_compiled_catalog_matches_its_source(domain):
    po = catalogs.read("zh_Hans_CN", domain)
    with catalogs.po_path("zh_Hans_CN", domain).with_suffix(".mo").open("rb") as mo_file:
        mo = read_mo(mo_file)

    def key(message):
        return tuple(message.id) if isinstance(message.id, (list, tuple)) else message.id

    def text(message):
        return tuple(message.string) if isinstance(message.string, (list, tuple)) else message.string

    assert {key(m): text(m) for m in mo if m.id} == {
        key(m): text(m) for m in po if m.id and catalogs.is_translated(m)
    }


def test_the_language_follows_the_browser_then_the_users_choice(as_role):
    viewer = as_role("viewer")
    assert "数据看板" in viewer.get("/admin/", headers={"Accept-Language": "zh-CN,zh;q=0.9"}).get_data(
        as_text=True
    )
    english = viewer.get("/admin/", headers={"Accept-Language": "en-US"}).get_data(as_text=True)
    assert "Dashboard" in english and '<html lang="en">' in english
    reply = post(viewer, "/admin/language", {"locale": "zh_CN", "next": "/admin/"}, token_from="/admin/")
    assert reply.headers["Location"] == "/admin/"
    chosen = viewer.get("/admin/", headers={"Accept-Language": "en-US"}).get_data(as_text=True)
    assert "数据看板" in chosen and '<html lang="zh-CN">' in chosen and "退出登录" in chosen


def test_the_login_page_remembers_a_language_picked_before_logging_in(client):
    post(client, "/admin/language", {"locale": "zh_CN", "next": "/admin/login"})
    assert "登录分销工作台" in client.get("/admin/login").get_data(as_text=True)


def test_a_string_shared_by_two_areas_reads_the_same_in_both():
    """Flask-Babel merges the areas' catalogs into one: a string translated two ways would show
    whichever area merged last, in every area."""
    translations: dict = {}
    for domain in DOMAINS:
        for message in catalogs.read("zh_Hans_CN", domain):
            if message.id and catalogs.is_translated(message):
                key = message.id if isinstance(message.id, str) else tuple(message.id)
                text = message.string if isinstance(message.string, str) else tuple(message.string)
                translations.setdefault(key, {}).setdefault(text, []).append(domain)
    assert {key: texts for key, texts in translations.items() if len(texts) > 1} == {}
