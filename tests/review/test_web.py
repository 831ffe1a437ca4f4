"""The review web app through FastAPI's TestClient: pages, decisions, conflicts, auth, CSRF, escaping."""

import json
import re

import pytest
from fastapi.testclient import TestClient

from review_fixtures import key, seed
from trust_tagger import review
from trust_tagger.config import Settings
from trust_tagger.review.web import SESSION_COOKIE, SessionSigner, create_app, paper_url

TOKEN = "s3cret-token"


@pytest.fixture
def seeded(store):
    seed(store)
    return store


@pytest.fixture
def export_file(tmp_path):
    return tmp_path / "labeled" / "decisions.jsonl"


@pytest.fixture
def app(seeded, list_copy, export_file):
    return create_app(seeded, TOKEN, list_dir=list_copy, export_path=export_file)


def client_for(app) -> TestClient:
    return TestClient(app, base_url="http://127.0.0.1")


def csrf_in(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def login(app, name: str) -> TestClient:
    client = client_for(app)
    page = client.get("/login")
    r = client.post("/login", data={"name": name, "token": TOKEN, "csrf": csrf_in(page.text), "next": "/queue"},
                    follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/queue"
    return client


def form_of(client: TestClient, k: str) -> dict:
    """The hidden fields a decision form carries, read from the rendered page like a browser would."""
    html = client.get(paper_url(k)).text
    return {"csrf": csrf_in(html), "revision": re.search(r'name="revision" value="(\d+)"', html).group(1)}


def decide(client: TestClient, k: str, action: str, form: dict | None = None, **fields):
    data = {**(form or form_of(client, k)), "action": action, **fields}
    return client.post(paper_url(k) + "/decide", data=data, follow_redirects=False)


# -- pages ---------------------------------------------------------------------------------------------
def test_queue_page_lists_papers_in_order_with_filters(app):
    client = client_for(app)
    html = client.get("/queue").text
    titles = re.findall(r'class="open" href="[^"]+">([^<]+)</a>', html)
    assert titles[0].startswith("Whisper-Jail") and len(titles) == 5
    assert "possible duplicate" in html  # 2601.00005 looks like a paper on the list
    safety = client.get("/queue", params={"category": "safety"}).text
    assert len(re.findall(r'class="open"', safety)) == 3
    relevant = client.get("/queue", params={"relevant_only": "1"}).text
    assert "Faster Conformer" not in relevant
    assert client.get("/queue", params={"since": "yesterday"}).status_code == 400


def test_item_page_shows_everything_a_reviewer_needs(app, list_copy):
    html = client_for(app).get(paper_url(key("2601.00005"))).text
    assert "Voice Jailbreak Attacks Against GPT-4o models" in html
    assert "Ada Lovelace, Alan &lt;Turing&gt;" in html
    assert 'href="https://arxiv.org/abs/2601.00005"' in html
    assert "Near-duplicate title of a paper already on the list." in html  # the full abstract
    assert "80%" in html and "class 2" in html and "m-test-1" in html  # relevance, class, model
    assert "safety/jailbreak" in html and "90%" in html  # category / subcategory probabilities
    assert '<code class="target">papers/safety/jailbreak.md</code>' in html  # where it would go
    assert "similar title" in html and "Voice Jailbreak Attacks Against GPT-4o</a>" in html
    # only the list's own subcategories are offered (login needed to see the editor)
    html = login(app, "alice").get(paper_url(key("2601.00005"))).text
    offered = set(re.findall(r'name="sub" value="([^"]+)"', html))
    assert offered == set(review.load_list_index(list_copy).subcategories)
    assert 'name="sub" value="safety/jailbreak" checked' in html


def test_unknown_paper_is_404(app):
    assert client_for(app).get("/paper/arxiv:0000.00000").status_code == 404


def test_titles_and_abstracts_are_escaped_and_scripts_need_the_nonce(app):
    client = client_for(app)
    for url in (paper_url(key("2601.00004")), "/queue"):
        r = client.get(url)
        html = r.text
        assert "<b>tags</b>" not in html and "&lt;b&gt;tags&lt;/b&gt;" in html
        assert "<img src=x" not in html
        nonce = re.search(r"'nonce-([^']+)'", r.headers["content-security-policy"]).group(1)
        scripts = re.findall(r"<script([^>]*)>", html)
        assert scripts and all(f'nonce="{nonce}"' in attrs for attrs in scripts)
        assert r.headers["x-frame-options"] == "DENY"
    assert "&lt;script&gt;window.__pwned = 1&lt;/script&gt;" in client.get(paper_url(key("2601.00004"))).text


# -- auth and CSRF -----------------------------------------------------------------------------------------
def test_read_only_without_a_token(seeded, list_copy):
    app = create_app(seeded, "", list_dir=list_copy)
    client = client_for(app)
    html = client.get(paper_url(key("2601.00001"))).text
    assert "read-only" in html and 'id="form-accept"' not in html
    r = client.post(paper_url(key("2601.00001")) + "/decide", data={"action": "accept", "revision": "0"})
    assert r.status_code == 403
    assert client.post("/login", data={"name": "x", "token": "", "csrf": "x"}).status_code == 403
    assert seeded.get_paper(key("2601.00001")).status == "review"


def test_writes_need_a_session_and_a_valid_csrf_token(app, seeded):
    k = key("2601.00001")
    anonymous = client_for(app)
    assert decide(anonymous, k, "accept", {"csrf": "x", "revision": "0"}).status_code == 401
    client = login(app, "alice")
    form = form_of(client, k)
    assert decide(client, k, "accept", {**form, "csrf": "forged"}).status_code == 403
    assert decide(client, k, "accept", {"revision": form["revision"]}).status_code == 403
    forged = client_for(app)  # a cookie signed with another key is no session
    value, _ = SessionSigner(b"k" * 32).issue("mallory")
    forged.cookies.set(SESSION_COOKIE, value)
    assert decide(forged, k, "accept", form).status_code == 401
    assert seeded.get_paper(k).status == "review" and review.audit_log(seeded) == []


def test_login_checks_token_name_and_its_own_csrf(app):
    client = client_for(app)
    page = client.get("/login")
    bad = client.post("/login", data={"name": "alice", "token": "wrong", "csrf": csrf_in(page.text)})
    assert bad.status_code == 401 and "Wrong review token" in bad.text
    page = client.get("/login")
    assert client.post("/login", data={"name": " ", "token": TOKEN, "csrf": csrf_in(page.text)}).status_code == 401
    fresh = client_for(app)  # no login cookie: a cross-site login attempt
    assert fresh.post("/login", data={"name": "a", "token": TOKEN, "csrf": "guess"}).status_code == 403
    page = client.get("/login")
    r = client.post("/login", data={"name": "a", "token": TOKEN, "csrf": csrf_in(page.text), "next": "//evil.example"},
                    follow_redirects=False)
    assert r.headers["location"] == "/queue"  # no open redirect
    cookie = r.headers["set-cookie"]
    assert "httponly" in cookie.lower() and "samesite=strict" in cookie.lower()


# -- decisions -------------------------------------------------------------------------------------------
def test_accept_edit_reject_defer_through_the_web(app, seeded, export_file):
    client = login(app, "alice")
    r = decide(client, key("2601.00001"), "accept")
    assert r.status_code == 303 and "saved=accept" in r.headers["location"]
    follow = client.get(r.headers["location"])
    assert "Saved: <strong>accept</strong>" in follow.text and "Whisper-Jail" in follow.text
    r = decide(client, key("2601.00002"), "edit", relevance="2", sub=["safety/deepfake", "security/attack"],
               note="attacks detectors too", audio_llm="no")
    assert r.status_code == 303
    assert decide(client, key("2601.00003"), "reject").status_code == 303
    assert decide(client, key("2601.00004"), "defer").status_code == 303
    rows = {k: seeded.get_paper(key(k)) for k in ("2601.00001", "2601.00002", "2601.00003", "2601.00004")}
    assert (rows["2601.00001"].status, rows["2601.00001"].labels) == ("accepted", ["safety/jailbreak"])
    assert (rows["2601.00002"].status, rows["2601.00002"].labels) == ("accepted", ["safety/deepfake", "security/attack"])
    assert rows["2601.00003"].status == "rejected" and rows["2601.00004"].status == "review"
    assert all(r.decided_by == "reviewer:alice" for r in rows.values() if r.status != "review")
    records = [json.loads(line) for line in export_file.read_text().splitlines()]
    assert [r["arxiv_id"] for r in records] == ["2601.00001", "2601.00002", "2601.00003"]
    assert records[1]["note"] == "attacks detectors too" and records[1]["audio_llm"] is False
    audit = client.get("/audit").text
    assert audit.count("<td>alice</td>") == 4


def test_invalid_labels_are_refused_with_a_message(app, seeded):
    client = login(app, "alice")
    r = decide(client, key("2601.00002"), "edit", relevance="2", sub=["safety/made_up"])
    assert r.status_code == 400 and "not a subcategory" in r.text
    r = decide(client, key("2601.00003"), "accept")
    assert r.status_code == 400 and "use edit" in r.text
    assert review.audit_log(seeded) == []


def test_two_reviewers_on_one_paper_get_a_conflict_not_an_overwrite(app, seeded):
    alice, bob = login(app, "alice"), login(app, "bob")
    k = key("2601.00002")
    alice_form, bob_form = form_of(alice, k), form_of(bob, k)  # both opened revision 0
    assert decide(alice, k, "accept", alice_form).status_code == 303
    r = decide(bob, k, "reject", bob_form)
    assert r.status_code == 409
    assert "alice" in r.text and "NOT saved" in r.text
    assert seeded.get_paper(k).status == "accepted"
    assert [d["reviewer"] for d in review.audit_log(seeded, k)] == ["alice"]
    # after reloading, bob sees the decision and may correct it deliberately
    html = bob.get(paper_url(k)).text
    assert 'id="form-undo"' in html and 'id="form-accept"' not in html
    assert decide(bob, k, "undo").status_code == 303
    assert seeded.get_paper(k).status == "rejected"


def test_correcting_an_auto_accepted_paper(app, seeded):
    client = login(app, "carol")
    listing = client.get("/decided").text
    assert "Backdoor Triggers" in listing and "Audio Hallucination Benchmark" in listing
    k = key("2601.00011")  # auto-rejected
    r = decide(client, k, "undo", relevance="2", sub=["hallucination/general"])
    assert r.status_code == 303 and r.headers["location"].startswith("/paper/")
    row = seeded.get_paper(k)
    assert (row.status, row.labels, row.decided_by) == ("accepted", ["hallucination/general"], "reviewer:carol")
    assert review.audit_log(seeded, k)[0]["predicted"]["previous_decided_by"] == "model:m-test-1"


def test_app_from_settings_uses_its_store_token_and_labeled_dir(tmp_path, list_copy):
    settings = Settings(root=tmp_path, list_dir=list_copy, db_url="sqlite:///review.db", review_token=TOKEN)
    app = create_app(settings)
    seed(app.state.store)
    client = login(app, "dana")
    assert decide(client, key("2601.00003"), "reject").status_code == 303
    exported = tmp_path / "data" / "labeled" / "decisions.jsonl"
    assert json.loads(exported.read_text())["arxiv_id"] == "2601.00003"
    assert (tmp_path / "review.db").exists()


# -- search, filters that keep their state, bulk actions, undo, the adjacent view ------------------------------
def test_search_and_filters_keep_their_state(app):
    client = client_for(app)
    html = client.get("/queue", params={"q": "cloned voices"}).text
    assert re.findall(r'class="open" href="[^"]+">([^<]+)</a>', html) == ["Detecting Cloned Voices with Self-Supervised Features"]
    assert 'value="cloned voices"' in html
    r = client.get("/queue", follow_redirects=False)  # the next visit comes back to the same view
    assert r.status_code == 303 and r.headers["location"] == "/queue?q=cloned+voices"
    item = client.get(paper_url(key("2601.00002")), params={"q": "cloned voices"}).text
    assert 'href="/queue?q=cloned+voices" id="back-queue"' in item
    cleared = client.get("/queue", params={"clear": "1"})
    assert len(re.findall(r'class="open"', cleared.text)) == 5
    assert client.get("/queue", follow_redirects=False).status_code == 200  # forgotten
    assert "2601.00004" in client.get("/queue", params={"q": "2601.00004"}).text


def test_unknown_category_is_refused_not_an_empty_queue(app):
    r = client_for(app).get("/queue", params={"category": "safty"})
    assert r.status_code == 400 and "unknown category" in r.text and "safety" in r.text


def test_bulk_reject_is_audited_per_paper_and_can_be_undone(app, seeded, export_file):
    alice, bob = login(app, "alice"), login(app, "bob")
    html = alice.get("/queue").text
    picks = {k: value for value, k in re.findall(r'name="item" value="(([^"@]+)@\d+)"', html)}
    chosen = [picks[key(a)] for a in ("2601.00001", "2601.00003", "2601.00004")]
    assert decide(bob, key("2601.00003"), "defer").status_code == 303  # bob, meanwhile
    r = alice.post("/bulk", data={"csrf": csrf_in(html), "action": "reject", "item": chosen}, follow_redirects=False)
    assert r.status_code == 303
    page = alice.get(r.headers["location"]).text
    assert "Saved: <strong>reject</strong> for 2 papers" in page and "arxiv:2601.00003</a>" in page  # one refused
    assert seeded.get_paper(key("2601.00001")).status == "rejected"
    assert seeded.get_paper(key("2601.00003")).status == "review"  # bob's defer stands
    assert [d["reviewer"] for d in review.audit_log(seeded, key("2601.00004"))] == ["alice"]
    assert len(export_file.read_text().splitlines()) == 2
    undo = re.search(r'<form method="post" action="/bulk" id="form-revert">(.*?)</form>', page, re.S).group(1)
    items = re.findall(r'name="item" value="([^"]+)"', undo)
    r = alice.post("/bulk", data={"csrf": csrf_in(page), "action": "revert", "item": items}, follow_redirects=False)
    assert r.status_code == 303
    assert seeded.get_paper(key("2601.00001")).status == "review" and seeded.get_paper(key("2601.00004")).status == "review"
    assert all(json.loads(line).get("retracted") for line in export_file.read_text().splitlines())  # no label left
    r = alice.post("/bulk", data={"csrf": "forged", "action": "reject", "item": chosen})
    assert r.status_code == 403
    r = alice.post("/bulk", data={"csrf": csrf_in(page), "action": "edit", "item": chosen})
    assert r.status_code == 400


def test_saved_banner_has_an_undo_that_puts_the_paper_back(app, seeded):
    client = login(app, "alice")
    k = key("2601.00001")
    r = decide(client, k, "accept")
    page = client.get(r.headers["location"]).text
    form = re.search(r'<form method="post" action="([^"]+)" id="form-revert">(.*?)</form>', page, re.S)
    assert form.group(1) == paper_url(k) + "/decide"
    fields = dict(re.findall(r'name="(\w+)" value="([^"]*)"', form.group(2)))
    assert fields["action"] == "revert"
    r = client.post(form.group(1), data=fields, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith(paper_url(k) + "?saved=revert")
    assert "Undone:" in client.get(r.headers["location"]).text
    assert seeded.get_paper(k).status == "review"
    assert 'id="form-accept"' in client.get(paper_url(k)).text  # decide it again


def test_adjacent_view_promotes_in_one_click(app, seeded):
    client = login(app, "alice")
    html = client.get("/adjacent").text
    assert "Detecting Cloned Voices" in html and "Whisper-Jail" not in html
    form = re.search(r'<form method="post" action="(/paper/arxiv:2601.00002/promote)" class="promote">(.*?)</form>',
                     html, re.S)
    fields = dict(re.findall(r'name="(\w+)" value="([^"]*)"', form.group(2)))
    r = client.post(form.group(1), data=fields, follow_redirects=False)
    assert r.status_code == 303
    row = seeded.get_paper(key("2601.00002"))
    assert (row.status, row.relevance, row.labels, row.decided_by) == ("accepted", 2, ["safety/deepfake"], "reviewer:alice")
    page = client.get(r.headers["location"]).text
    assert "Promoted to core" in page and 'id="form-revert"' in page
    assert "Detecting Cloned Voices" not in page.split("</h1>", 1)[1]  # no longer adjacent
    r = client.post(form.group(1), data=fields)  # the same (stale) click again
    assert r.status_code == 409


def test_decision_first_layout_and_login_instructions(app):
    client = login(app, "alice")
    html = client.get(paper_url(key("2601.00001"))).text
    order = [html.index(f'id="{x}"') for x in ("title", "abstract", "prediction", "btn-accept", "all-probs")]
    assert order == sorted(order)  # decision first, the full probability table after the buttons
    assert '<details class="card" id="all-probs">' in html  # folded
    shown = html[html.index('id="prediction"'):html.index('id="decide"')]
    assert "safety/deepfake" not in shown  # 10 %: not one that matters
    assert "papers/safety/jailbreak.md" in shown and "83%" in shown
    login_page = client_for(app).get("/login").text
    assert "--token-file" in login_page and "TRUST_TAGGER_REVIEW_TOKEN" in login_page
