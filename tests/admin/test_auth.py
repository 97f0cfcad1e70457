"""Logging in and out, throttling, CSRF, the session cookie, shops and superusers, the CLI."""

from __future__ import annotations

from sqlalchemy import select

from plugin.audit.models import AuditEvent
from plugin.users.models import User
from tests.admin.conftest import PASSWORD, login, post


def test_a_page_of_the_workbench_sends_a_stranger_to_the_login_form(client):
    reply = client.get("/admin/distributors/?q=x")
    assert reply.status_code == 302
    assert reply.headers["Location"].startswith("/admin/login?next=")


def test_the_right_password_opens_the_dashboard_and_the_login_is_audited(client, shop, make_user, database):
    email = make_user(shop.id, "viewer")
    reply = login(client, email)
    assert reply.status_code == 302 and reply.headers["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200
    with database.transaction() as session:
        event = session.scalar(select(AuditEvent).where(AuditEvent.action == "user.login"))
        user = session.scalar(select(User).where(User.email == email))
    assert (event.shop_id, event.actor, event.subject_id) == (shop.id, email, str(user.id))
    assert user.last_login_at is not None


def test_a_wrong_password_or_unknown_account_is_refused_alike(client, shop, make_user):
    email = make_user(shop.id, "admin")
    for who, password in ((email, "wrong password!"), ("nobody@example.com", PASSWORD)):
        reply = login(client, who, password)
        assert reply.status_code == 401
        assert "Wrong e-mail or password." in reply.get_data(as_text=True)
    assert client.get("/admin/").status_code == 302


def test_empty_fields_are_named_on_the_form(client):
    reply = post(client, "/admin/login", {"email": "", "password": ""})
    html = reply.get_data(as_text=True)
    assert reply.status_code == 400
    assert 'id="email-errors"' in html and 'id="password-errors"' in html


def test_a_login_without_the_csrf_token_is_refused(client, shop, make_user):
    email = make_user(shop.id, "admin")
    reply = client.post("/admin/login", data={"email": email, "password": PASSWORD})
    assert reply.status_code == 400
    assert "The form expired" in reply.get_data(as_text=True)
    assert client.get("/admin/").status_code == 302


def test_failed_logins_are_throttled_per_account_then_per_address(app, shop, make_user):
    target = make_user(shop.id, "admin")
    client = app.test_client()
    for _ in range(5):
        assert login(client, target, "not the password").status_code == 401
    assert login(client, target).status_code == 429  # even the right password waits now
    other = make_user(shop.id, "viewer")
    assert login(app.test_client(), other).status_code == 302  # another account is not locked
    stranger = app.test_client()
    for n in range(15):  # 5 + 15 failures from this address (the refused attempt is not one)
        assert login(stranger, f"guess{n}@example.com", "nope nope nope").status_code == 401
    assert login(stranger, other).status_code == 429


def test_logout_ends_the_session(client, shop, make_user):
    login(client, make_user(shop.id, "viewer"))
    reply = post(client, "/admin/logout", token_from="/admin/")
    assert reply.status_code == 302
    assert client.get("/admin/").status_code == 302


def test_the_session_cookie_is_httponly_lax_and_secure_over_https(app, shop, make_user):
    email = make_user(shop.id, "viewer")
    plain = app.test_client()
    cookie = session_cookie(login(plain, email))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    secure = app.test_client()
    token = csrf_token_https(secure)
    cookie = session_cookie(
        secure.post(
            "/admin/login",
            data={"csrf_token": token, "email": email, "password": PASSWORD},
            base_url="https://localhost",
        )
    )
    assert "Secure" in cookie and "HttpOnly" in cookie


def session_cookie(reply) -> str:
    return next(c for c in reply.headers.getlist("Set-Cookie") if c.startswith("session="))


def csrf_token_https(client) -> str:
    from tests.admin.conftest import TOKEN

    return TOKEN.search(
        client.get("/admin/login", base_url="https://localhost").get_data(as_text=True)
    ).group(1)


def test_next_never_leaves_the_site(client, shop, make_user):
    email = make_user(shop.id, "viewer")
    reply = post(client, "/admin/login", {"email": email, "password": PASSWORD, "next": "//evil.example/x"})
    assert reply.headers["Location"] == "/admin/"
    client2 = client.application.test_client()
    reply = post(client2, "/admin/login", {"email": email, "password": PASSWORD, "next": "/admin/audit/"})
    assert reply.headers["Location"] == "/admin/audit/"


def test_a_viewer_sees_no_settings_tab_and_is_refused_there(as_role):
    viewer = as_role("viewer")
    assert "/admin/settings/" not in viewer.get("/admin/").get_data(as_text=True)
    assert viewer.get("/admin/settings/").status_code == 403
    admin = as_role("admin")
    assert "/admin/settings/" in admin.get("/admin/").get_data(as_text=True)
    assert admin.get("/admin/settings/").status_code == 200


def test_a_superuser_picks_a_shop_first_and_it_is_audited(app, shop, other_shop, make_user, database):
    client = app.test_client()
    email = make_user(None, "admin", superuser=True)
    assert login(client, email).status_code == 302
    assert client.get("/admin/").headers["Location"] == "/admin/shops"
    page = client.get("/admin/shops").get_data(as_text=True)
    assert f"#{shop.id} Test shop" in page and f"#{other_shop.id} Other shop" in page
    reply = post(client, "/admin/shops", {"shop_id": other_shop.id}, token_from="/admin/shops")
    assert reply.status_code == 302
    assert "Other shop" in client.get("/admin/").get_data(as_text=True)
    with database.transaction() as session:
        event = session.scalar(select(AuditEvent).where(AuditEvent.action == "user.entered_shop"))
    assert (event.shop_id, event.actor) == (other_shop.id, email)


def test_a_shop_user_cannot_switch_shop(as_role, other_shop):
    operator = as_role("operator")
    reply = post(operator, "/admin/shops", {"shop_id": other_shop.id}, token_from="/admin/")
    assert reply.status_code == 302 and reply.headers["Location"] == "/admin/"
    assert "Other shop" not in operator.get("/admin/").get_data(as_text=True)


def test_a_disabled_user_is_logged_out(as_role, database):
    viewer = as_role("viewer")
    with database.transaction() as session:
        session.scalar(select(User).where(User.email == viewer.email)).active = False
    assert viewer.get("/admin/").status_code == 302


def test_user_add_reads_the_password_from_stdin_and_refuses_mistakes(runner, shop, client):
    from click.testing import CliRunner

    from plugin.cli import main

    cli = CliRunner()
    ok = cli.invoke(
        main,
        [
            "user",
            "add",
            "--shop",
            str(shop.id),
            "--email",
            "Boss@Example.com",
            "--role",
            "admin",
            "--password-stdin",
        ],
        input="a long enough password\n",
    )
    assert ok.exit_code == 0, ok.output
    assert "boss@example.com: shop" in ok.output
    assert login(client, "boss@example.com", "a long enough password").status_code == 302
    again = cli.invoke(
        main,
        ["user", "add", "--shop", str(shop.id), "--email", "boss@example.com", "--password-stdin"],
        input="a long enough password\n",
    )
    assert again.exit_code != 0 and "already has an account" in again.output
    short = cli.invoke(
        main,
        ["user", "add", "--shop", str(shop.id), "--email", "b@example.com", "--password-stdin"],
        input="short\n",
    )
    assert short.exit_code != 0 and "password" in short.output
    neither = cli.invoke(
        main, ["user", "add", "--email", "c@example.com", "--password-stdin"], input="x" * 12 + "\n"
    )
    assert neither.exit_code == 2
    listed = cli.invoke(main, ["user", "list", "--shop", str(shop.id)])
    assert "boss@example.com" in listed.output and "admin" in listed.output


def test_the_stylesheet_is_served_to_the_login_page(client):
    reply = client.get("/admin/static/admin.css")
    assert reply.status_code == 200 and b"--accent" in reply.data
