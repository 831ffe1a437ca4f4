"""The review page's login and sessions: throttling and lockout per client, server-side logout, a
persistent secret (0600), Secure cookies behind HTTPS, and the Origin check on writes."""

import logging
import re
import stat

import pytest
from fastapi.testclient import TestClient

from review_fixtures import key
from trust_tagger.config import Settings, load_settings
from trust_tagger.review.auth import SECRET_FILE, LoginThrottle, SessionSigner, load_secret
from trust_tagger.review.web import SESSION_COOKIE, create_app, paper_url

TOKEN = "s3cret-token"


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def client_for(app, host: str = "10.0.0.1") -> TestClient:
    return TestClient(app, base_url="http://127.0.0.1", client=(host, 50000))


def csrf_in(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def try_login(client: TestClient, token: str, name: str = "alice"):
    page = client.get("/login")
    return client.post("/login", data={"name": name, "token": token, "csrf": csrf_in(page.text), "next": "/queue"},
                       follow_redirects=False)


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def app(seeded, list_copy, tmp_path, clock):
    return create_app(seeded, TOKEN, list_dir=list_copy, export_path=tmp_path / "decisions.jsonl",
                      throttle=LoginThrottle(clock=clock))


# -- throttle and lockout ----------------------------------------------------------------------------------
def test_wrong_tokens_are_throttled_then_locked_out_even_for_the_right_token(app, clock, caplog):
    attacker = client_for(app, "10.6.6.6")
    caplog.set_level(logging.WARNING, logger="trust_tagger.review")
    assert try_login(attacker, "guess-1").status_code == 401  # one typo is free
    assert try_login(attacker, "guess-2").status_code == 401
    r = try_login(attacker, "guess-3")  # sent at once: must wait first
    assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1 and "Too many failed logins" in r.text
    checked = 2
    for _ in range(10):  # an attacker who waits out every delay
        clock.now += 60
        if try_login(attacker, f"guess-{checked}").status_code == 401:
            checked += 1
        else:
            break
    assert checked == 5  # five wrong tokens were checked, then the lockout
    r = try_login(attacker, TOKEN)
    assert r.status_code == 429 and SESSION_COOKIE not in r.headers.get("set-cookie", "")
    assert int(r.headers["retry-after"]) > 600
    # the lockout is per client: a maintainer elsewhere logs in as usual
    assert try_login(client_for(app, "10.0.0.2"), TOKEN).status_code == 303
    clock.now += 901  # after the lockout, the right token works again
    assert try_login(attacker, TOKEN).status_code == 303
    failed = [rec.getMessage() for rec in caplog.records if "failed review login" in rec.getMessage()]
    assert len(failed) == 5 and all("10.6.6.6" in m for m in failed)
    assert any("locked out" in rec.getMessage() and "10.6.6.6" in rec.getMessage() for rec in caplog.records)


def test_lockouts_grow_and_a_success_clears_the_delay(clock):
    throttle = LoginThrottle(max_failures=3, lockout=100, clock=clock)
    assert [throttle.failure("c") for _ in range(3)] == [0.0, 1.0, 100.0]
    clock.now += 100
    assert throttle.wait("c") == 0
    assert [throttle.failure("c") for _ in range(3)][-1] == 200.0  # the second lockout is longer
    clock.now += 200
    throttle.failure("c")
    throttle.failure("c")
    throttle.success("c")
    assert throttle.wait("c") == 0.0
    many = LoginThrottle(max_clients=3, clock=clock)
    for i in range(10):
        many.failure(f"10.0.0.{i}")
    assert len(many._clients) == 3  # bounded memory under a spray of addresses


# -- sessions -------------------------------------------------------------------------------------------------
def _decide(client: TestClient, k: str, action: str = "defer"):
    html = client.get(paper_url(k)).text
    rev = re.search(r'name="revision" value="(\d+)"', html).group(1)
    return client.post(paper_url(k) + "/decide", data={"csrf": csrf_in(html), "revision": rev, "action": action},
                       follow_redirects=False)


def test_logout_revokes_the_session_server_side(app, seeded):
    client = client_for(app)
    r = try_login(client, TOKEN)
    assert r.status_code == 303
    stolen = client.cookies.get(SESSION_COOKIE)
    html = client.get("/queue").text
    assert client.post("/logout", data={"csrf": csrf_in(html)}, follow_redirects=False).status_code == 303
    thief = client_for(app, "10.9.9.9")
    thief.cookies.set(SESSION_COOKIE, stolen)  # a copy of the cookie taken before the logout
    assert "signed in as" not in thief.get("/queue").text
    form = {"csrf": "x", "revision": "0", "action": "defer"}
    assert thief.post(paper_url(key("2601.00001")) + "/decide", data=form).status_code == 401
    assert seeded.get_paper(key("2601.00001")).status == "review"


def test_sessions_survive_a_restart_and_logouts_too(seeded, list_copy, tmp_path):
    state = tmp_path / "state"
    first = create_app(seeded, TOKEN, list_dir=list_copy, state_dir=state)
    alice, bob = client_for(first), client_for(first, "10.0.0.3")
    try_login(alice, TOKEN, "alice")
    try_login(bob, TOKEN, "bob")
    bob_cookie = bob.cookies.get(SESSION_COOKIE)
    bob.post("/logout", data={"csrf": csrf_in(bob.get("/queue").text)})
    secret = state / SECRET_FILE
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600 and len(secret.read_text().strip()) >= 32

    restarted = create_app(seeded, TOKEN, list_dir=list_copy, state_dir=state)  # a new process, same state dir
    again = client_for(restarted)
    again.cookies.set(SESSION_COOKIE, alice.cookies.get(SESSION_COOKIE))
    assert "signed in as <strong id=\"reviewer\">alice" in again.get("/queue").text
    assert _decide(again, key("2601.00001")).status_code == 303
    replay = client_for(restarted, "10.0.0.4")
    replay.cookies.set(SESSION_COOKIE, bob_cookie)
    assert "signed in as" not in replay.get("/queue").text  # bob's logout outlived the restart


def test_secret_file_is_created_once_and_narrowed_to_0600(tmp_path, caplog):
    key1 = load_secret(tmp_path)
    assert load_secret(tmp_path) == key1
    path = tmp_path / SECRET_FILE
    path.chmod(0o644)
    with caplog.at_level(logging.WARNING):
        assert load_secret(tmp_path) == key1
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and "readable by others" in caplog.text
    path.write_text("short\n")
    with pytest.raises(ValueError, match="no usable secret"):
        load_secret(tmp_path)


def test_app_from_settings_keeps_its_secret_in_the_state_dir(tmp_path, list_copy):
    settings = Settings(root=tmp_path, list_dir=list_copy, db_url="sqlite:///review.db", review_token=TOKEN)
    create_app(settings)
    assert (tmp_path / "data" / "state" / SECRET_FILE).exists()


# -- Secure cookies and Origin ------------------------------------------------------------------------------
def test_cookies_are_secure_behind_https(seeded, list_copy):
    plain_http = create_app(seeded, TOKEN, list_dir=list_copy)
    r = try_login(client_for(plain_http), TOKEN)
    assert "secure" not in r.headers["set-cookie"].lower()
    proxied = create_app(seeded, TOKEN, list_dir=list_copy, https=True)
    client = client_for(proxied)
    login_page = client.get("/login")
    assert "secure" in login_page.headers["set-cookie"].lower()
    login_cookie = re.search(r"tt_review_login=([^;]+)", login_page.headers["set-cookie"]).group(1)
    # the TLS proxy talks plain HTTP to us; the browser behind it sent the (Secure) cookie over HTTPS
    r = client.post("/login", data={"name": "a", "token": TOKEN, "csrf": csrf_in(login_page.text)},
                    headers={"origin": "https://127.0.0.1", "cookie": f"tt_review_login={login_cookie}"},
                    follow_redirects=False)
    assert r.status_code == 303 and "secure" in r.headers["set-cookie"].lower()


def test_https_setting_reads_from_the_environment(monkeypatch):
    monkeypatch.setenv("TRUST_TAGGER_REVIEW_HTTPS", "true")
    assert load_settings().review_https is True
    monkeypatch.setenv("TRUST_TAGGER_REVIEW_HTTPS", "maybe")
    with pytest.raises(ValueError, match="true or false"):
        load_settings()


def test_writes_from_another_origin_are_refused(app, seeded):
    client = client_for(app)
    try_login(client, TOKEN)
    k = key("2601.00001")
    html = client.get(paper_url(k)).text
    form = {"csrf": csrf_in(html), "revision": "0", "action": "reject"}
    r = client.post(paper_url(k) + "/decide", data=form, headers={"origin": "https://evil.example"})
    assert r.status_code == 403 and "Cross-site request refused" in r.text
    r = client.post(paper_url(k) + "/decide", data=form, headers={"referer": "https://evil.example/page"})
    assert r.status_code == 403
    r = client.post("/logout", data={"csrf": form["csrf"]}, headers={"origin": "null"})
    assert r.status_code == 403
    assert seeded.get_paper(k).status == "review"
    r = client.post(paper_url(k) + "/decide", data=form, headers={"origin": "http://127.0.0.1"},
                    follow_redirects=False)
    assert r.status_code == 303 and seeded.get_paper(k).status == "rejected"


def test_a_signed_cookie_without_a_session_id_is_no_session(app):
    signer = SessionSigner()
    assert signer.read(signer.issue("x")[0]).name == "x"
    import base64
    import json
    payload = base64.urlsafe_b64encode(json.dumps({"n": "x", "c": "c", "e": 10**12}).encode()).decode().rstrip("=")
    assert signer.read(f"{payload}.{signer._mac(payload.encode())}") is None  # old format: no id to revoke
