"""The person reported can answer (issue 21): a reader invites them on the desk; with the
invitation's codename they read the process and the team's words on the reporter site and
respond; the response reaches the conversation's current readers only, in their bundles, and
`keys open` names it; the team answers offline with `keys reply --to-respondent`. Nothing of it
reaches the reporter, a left-out responder, or another conversation.

The apps run in this process (support/inprocess.py); keys run as the `dropbox keys` command."""
from __future__ import annotations

import base64
import dataclasses
import json
import re
import sqlite3
from pathlib import Path

import pytest
from nacl.public import PrivateKey, PublicKey
from nacl.signing import VerifyKey

from conftest import dropbox, opened_conversations
from deskclient import Login, add_user
from formclient import FormClient, Page, open_report_form
from stored import _stage
from support.inprocess import URL, in_process
from support.instance import set_settings
from dropbox.app import create_app
from dropbox.config import Config
from dropbox.desk.app import create_desk_app
from dropbox.exports import export_team, import_replies
from dropbox.figures import yearly
from dropbox.storage import Store
from keys.envelope import Binding, Origin, open_envelope
from keys.errors import FormatError
from keys.figures import MONTH
from keys.items import ItemMeta
from keys.responder import Responder

VECTORS = Path(__file__).resolve().parent / "vectors"
FILE = ("statement.txt", "text/plain", b"my side of it")


class Desk:
    """One responder logged in to the desk through the test client."""

    def __init__(self, app, login: Login):
        self.client = app.test_client()
        self.client.post("/login", data={"csrf_token": self._token("/login"), "username": login.name,
                                          "password": login.password, "otp": login.code()})

    def _token(self, path: str) -> str:
        found = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', self.client.get(path).text)
        assert found is not None
        return found.group(1)

    def invite(self, designation: str, days: int = 30):
        path = f"/conversations/{designation}/invitations"
        return self.client.post(path, data={"csrf_token": self._token("/"), "days": str(days)})


@pytest.fixture
def world(instance):
    return _world(instance)


def _world(instance):
    """The reporter site and the desk on one instance; alexandra and mario on the desk."""
    config = Config.load(instance)
    store = Store(config.database, config.store_dir, config.tmp_dir)
    store.prepare()
    logins = {name: add_user(instance, name) for name in ("alexandra", "mario")}
    desk_app = create_desk_app(config)
    return {"config": config, "store": store, "site": create_app(config),
            "desk": {name: Desk(desk_app, login) for name, login in logins.items()}}


def _report(world, leave_out: frozenset[str] = frozenset()) -> tuple[str, str, FormClient]:
    """A report sent through the form; (codename, conversation id, the reporter's browser)."""
    client = FormClient(URL, in_process(world["site"]))
    codename, form = open_report_form(client)
    done = client.submit(form, "Send the report", fill={"message": "It happened at the meetup."},
                         uncheck={"recipients": set(leave_out)})
    assert done.status == 200, done.text[:300]
    with sqlite3.connect(world["config"].database) as db:
        (conversation,) = [row[0] for row in db.execute("SELECT id FROM conversations")]
    return codename, conversation, client


def _designation(world, conversation: str) -> str:
    return world["store"].desk.designations([conversation], lambda cid: cid)[conversation][0]


def _invite(world, conversation: str, who: str = "alexandra", days: int = 30) -> str:
    answer = world["desk"][who].invite(_designation(world, conversation), days)
    assert answer.status_code == 200, answer.text[:300]
    found = re.search(r'id="codename"[^>]*>([a-z \-]+)<', answer.text)
    assert found is not None, answer.text[:500]
    return found.group(1)


def _respondent(world, codename: str) -> tuple[FormClient, Page]:
    client = FormClient(URL, in_process(world["site"]))
    page = client.submit(client.get("/respond/"), "Continue", fill={"codename": codename})
    return client, page


def test_a_reader_invites_the_person_reported_and_the_codename_is_shown_once_and_never_stored(world, instance):
    _, conversation, _ = _report(world)
    codename = _invite(world, conversation)
    assert len(codename.split()) == 8
    listed = world["desk"]["alexandra"].client.get(f"/conversations/{_designation(world, conversation)}/invitations")
    assert codename not in listed.text and "not yet" in listed.text
    for path in instance.rglob("*"):
        if path.is_file():
            assert codename.encode() not in path.read_bytes(), path
    (invitation,) = world["store"].invitations.of_conversation(conversation)
    assert invitation.expires > invitation.created and invitation.first_used is None


def test_the_person_reported_reads_the_process_and_responds_to_the_readers_only(world, instance, airgap, tmp_path):
    _, conversation, _ = _report(world, leave_out=frozenset({"mario"}))
    codename = _invite(world, conversation)
    client, page = _respondent(world, codename)
    assert page.status == 200, page.text[:300]
    assert "Retaliation against anyone who reports" in page.text
    assert "It happened at the meetup" not in page.text and "alexandra" not in page.text
    sent = client.submit(page, "Send", fill={"message": "My account."}, files=[("files", FILE[0], FILE[2])])
    assert sent.status == 200 and "Sent, with 1 file" in sent.text
    items = [i for i in world["store"].conversations.items(conversation) if i.origin == Origin.RESPONDENT]
    assert len(items) == 2 and {i.invitation_id for i in items} == {
        world["store"].invitations.of_conversation(conversation)[0].id}
    (invitation,) = world["store"].invitations.of_conversation(conversation)
    assert invitation.first_used and invitation.last_response
    # The readers open it offline, named as the person reported's; mario, left out, gets nothing.
    counts = export_team(world["store"], tmp_path / "export")
    assert counts["mario"] == 0
    out = tmp_path / "opened"
    airgap.open(tmp_path / "export" / "alexandra.odbx", "alexandra", out)
    folder = opened_conversations(out)[conversation]
    index = (folder / "index.txt").read_text()
    assert f"response from the person reported (invitation {invitation.id})" in index
    assert (folder / "attachments" / "statement.txt").read_bytes() == FILE[2]
    assert any(p.read_text() == "My account." for p in folder.glob("*-response-*.txt"))
    mario = (tmp_path / "export" / "mario.odbx").read_bytes()
    assert invitation.id.encode() not in mario and conversation.encode() not in mario


def test_the_team_answers_offline_and_only_the_person_reported_reads_it(world, airgap, tmp_path):
    _, conversation, reporter = _report(world)
    codename = _invite(world, conversation)
    client, page = _respondent(world, codename)
    client.submit(page, "Send", fill={"message": "My account."})
    export_team(world["store"], tmp_path / "export", everything=True)
    (invitation,) = world["store"].invitations.of_conversation(conversation)
    airgap.open(tmp_path / "export" / "bahaa.odbx", "bahaa", tmp_path / "opened")
    (tmp_path / "words.txt").write_text("Thank you. We will decide within two weeks.\n")
    dropbox("keys", "reply", tmp_path / "export" / "bahaa.odbx", conversation, "--key", airgap.key("bahaa"),
            "--message-file", tmp_path / "words.txt", "--out", tmp_path / "to-them.odbx",
            "--passphrase-file", airgap.passphrase_file, "--to-respondent", invitation.id)
    import_replies(world["store"], tmp_path / "to-them.odbx", world["config"].settings)
    shown = client.get("/respond/answer")
    assert "Thank you. We will decide within two weeks." in shown.text
    assert "bahaa" not in shown.text  # the team speaks as one: no reader is named
    # The reporter's page shows nothing of the person reported, nor of the team's words to them.
    theirs = reporter.get("/conversation")
    assert theirs.status == 200
    assert "two weeks" not in theirs.text and "My account" not in theirs.text
    assert len(theirs.by_class("sent")) == 1 and not theirs.by_class("reply")  # their report only


def test_an_invitation_opens_nothing_of_the_reporter_and_a_codename_nothing_of_the_respondent(world):
    reporter_codename, conversation, _ = _report(world)
    codename = _invite(world, conversation)
    _, page = _respondent(world, reporter_codename)
    assert page.status == 403 and "not known" in page.text
    client = FormClient(URL, in_process(world["site"]))
    page = client.submit(client.get("/login"), "Log in", fill={"codename": codename})
    assert page.status == 403
    assert client.get("/conversation").url.endswith("/login")


def test_a_respondent_session_reaches_no_reporter_page_and_a_reporter_session_no_respondent_page(world):
    _, conversation, reporter = _report(world)
    codename = _invite(world, conversation)
    client, _ = _respondent(world, codename)
    assert client.get("/conversation").url.endswith("/login")
    assert client.get("/delete").url.endswith("/login")
    assert reporter.get("/respond/answer").url.endswith("/respond/")


def test_a_withdrawn_or_expired_invitation_opens_nothing(world):
    _, conversation, _ = _report(world)
    codename = _invite(world, conversation)
    client, page = _respondent(world, codename)
    assert page.status == 200
    (invitation,) = world["store"].invitations.of_conversation(conversation)
    world["store"].invitations.withdraw(invitation.id, "alexandra")
    assert client.get("/respond/answer").url.endswith("/respond/")  # the session ends with it
    assert _respondent(world, codename)[1].status == 403
    expired = _invite(world, conversation, days=1)
    with sqlite3.connect(world["config"].database) as db:
        db.execute("UPDATE invitations SET expires = '2000-01-01' WHERE withdrawn IS NULL")
    assert _respondent(world, expired)[1].status == 403


def test_a_left_out_responder_s_desk_shows_no_invitation(world):
    _, conversation, _ = _report(world, leave_out=frozenset({"mario"}))
    _invite(world, conversation)
    designation = _designation(world, conversation)
    mario = world["desk"]["mario"]
    assert mario.client.get(f"/conversations/{designation}/invitations").status_code == 404
    assert mario.invite(designation).status_code == 404
    assert designation not in mario.client.get("/").text
    audit = mario.client.get("/audit").text
    assert "invited the person reported" not in audit and "response" not in audit
    assert "invited the person reported" in world["desk"]["alexandra"].client.get("/audit").text


def test_the_server_refuses_a_message_to_the_person_reported_sealed_to_the_reporter(instance):
    """The vector reply-bad-to-respondent-sealed-to-reporter (FORMAT.md, "The person reported")
    is refused by the import, and its good twin stored, on an instance holding conversation A."""
    keys = json.loads((VECTORS / "keys.json").read_text())
    index = json.loads((VECTORS / "index.json").read_text())["vectors"]
    config = Config.load(instance)
    store = Store(config.database, config.store_dir, config.tmp_dir)
    store.prepare()
    team = [Responder(n, PublicKey(bytes.fromhex(keys[n]["public_key"])),
                      VerifyKey(bytes.fromhex(keys[n]["signing_key"]))) for n in ("alice", "bob")]
    for member in team:
        store.team.add(member)
    conversation = "a" * 16 + "0123456789abcdef"
    reporter = PublicKey(bytes.fromhex(keys["reporter"]["public_key"]))
    meta = ItemMeta("report", "2024-05-01", reporter_key=base64.b64encode(bytes(reporter)).decode())
    store.conversations.create_conversation("0" * 64, reporter, tuple(team), [_stage(
        store, meta, b"{}", [m.public_key for m in team], Binding(conversation, Origin.REPORTER, 0))],
        conversation)
    with sqlite3.connect(config.database) as db:
        db.execute("INSERT INTO invitations (id, conversation_id, lookup_id, public_key, codename_tag,"
                   " created, expires) VALUES (?, ?, ?, ?, ?, ?, ?)",
                   ("e" * 16 + "0123456789abcdef", conversation, "1" * 64,
                    bytes.fromhex(keys["respondent"]["public_key"]), b"abc", "2024-05-01", "9999-12-31"))
    (bad,) = [e for e in index if e["type"] == "reply-import"]
    with pytest.raises(FormatError, match=bad["error"]):
        import_replies(store, VECTORS / bad["file"], config.settings)
    import_replies(store, VECTORS / "reply-good-to-respondent.bin", config.settings)
    stored = [i for i in store.conversations.items(conversation) if i.origin == Origin.TO_RESPONDENT]
    assert len(stored) == 1 and stored[0].invitation_id == "e" * 16 + "0123456789abcdef"
    # The reporter's key opens nothing of it.
    with pytest.raises(FormatError), store.conversations.envelope(stored[0]) as stream:
        b"".join(open_envelope(stream, PrivateKey(bytes.fromhex(keys["reporter"]["secret_key"]))))


@pytest.fixture
def tight(instance):
    """The reporter's limits made small: two failed logins a minute, two files a submission."""
    set_settings(instance, login_failures_per_minute=2, max_files_per_submission=2)
    return instance


def test_the_person_reported_s_logins_share_the_reporters_budget_and_their_codename_still_passes(tight):
    world = _world(tight)
    _, conversation, _ = _report(world)
    codename = _invite(world, conversation)
    words = codename.split()
    others = [w for w in ("abacus", "abide", "ability", "ablaze") if w != words[-1]][:3]
    wrong = [" ".join([*words[:-1], w]) for w in others]  # well formed: each costs an argon2id run
    statuses = [_respondent(world, guess)[1].status for guess in wrong]
    assert statuses[:2] == [403, 403] and statuses[2] == 429
    assert _respondent(world, codename)[1].status == 200  # its tag lets it past an empty budget


def test_the_person_reported_s_uploads_have_the_reporters_limits(tight):
    world = _world(tight)
    _, conversation, _ = _report(world)
    client, page = _respondent(world, _invite(world, conversation))
    files = [("files", f"f{n}.txt", b"x") for n in range(3)]
    refused = client.submit(page, "Send", fill={"message": "Three files."}, files=files)
    assert refused.status in (400, 413) and "2" in refused.text
    assert not [i for i in world["store"].conversations.items(conversation) if i.origin == Origin.RESPONDENT]


def test_a_deleted_conversation_takes_its_invitations_with_it(world):
    _, conversation, _ = _report(world)
    codename = _invite(world, conversation)
    client, page = _respondent(world, codename)
    client.submit(page, "Send", fill={"message": "My account."})
    world["store"].conversations.delete_conversation(conversation, "the reporter")
    with sqlite3.connect(world["config"].database) as db:
        assert db.execute("SELECT count(*) FROM invitations").fetchone()[0] == 0
    assert client.get("/respond/answer").url.endswith("/respond/")
    assert _respondent(world, codename)[1].status == 403


def test_a_response_with_a_stale_token_comes_back_with_its_words(world):
    _, conversation, _ = _report(world)
    client, page = _respondent(world, _invite(world, conversation))
    form = page.form("Send")
    data = [(n, "stale" if n == "csrf_token" else "My words." if n == "message" else v)
            for n, v in form.defaults()]
    answer = client.http.post(form.action, data=data, files=[("files", ("a.txt", b"a"))])
    assert answer.status_code == 400
    assert "My words." in answer.text and "nothing was sent yet" in answer.text and "a.txt" in answer.text
    assert not [i for i in world["store"].conversations.items(conversation) if i.origin == Origin.RESPONDENT]


def test_a_left_out_responder_s_desk_shows_nothing_of_the_case_its_handlers_or_its_figures(world):
    """Every desk page a left-out responder can open, after the readers took the case, set its
    state, invited the person reported and got a response: none names the conversation, its
    handler, state or invitation, and its figures count nothing of it."""
    _, conversation, _ = _report(world, leave_out=frozenset({"mario"}))
    designation = _designation(world, conversation)
    alexandra = world["desk"]["alexandra"]
    path = f"/conversations/{designation}"
    assert alexandra.client.post(f"{path}/take", data={"csrf_token": alexandra._token("/")}).status_code == 302
    assert alexandra.client.post(f"{path}/case", data={"csrf_token": alexandra._token("/"),
                                                       "state": "closed"}).status_code == 302
    client, page = _respondent(world, _invite(world, conversation))
    client.submit(page, "Send", fill={"message": "My account."})
    year = str(world["store"].conversations.conversation(conversation).created[:4])
    mario = world["desk"]["mario"]
    token = mario._token("/")
    for refused in (mario.client.get(f"{path}/case"), mario.client.get(f"{path}/invitations"),
                    mario.client.post(f"{path}/take", data={"csrf_token": token}),
                    mario.client.post(f"{path}/hand", data={"csrf_token": token, "to": "mario"}),
                    mario.client.post(f"{path}/case", data={"csrf_token": token, "state": "decided"})):
        assert refused.status_code == 404 and designation not in refused.text
    assert world["store"].cases.progress(conversation).state == "closed"
    pages = [mario.client.get(p) for p in ("/", "/?mine=1", "/warnings/deletions", "/warnings/unread",
                                            f"/warnings/unread?after={designation}", "/audit",
                                            f"/figures?year={year}")]
    for shown in pages:
        assert shown.status_code == 200
        # The audit names alexandra for what concerns the whole team (her logins), nothing else.
        named = () if shown.request.path == "/audit" else ("alexandra",)
        for trace in (designation, *named, "took a case", "state", "invit", "response"):
            assert trace not in shown.text, (shown.request.path, trace)
    counted = {name: [v for row in yearly(world["store"], int(year), name) for k, v in row.items()
                      if k != MONTH and v] for name in ("alexandra", "mario")}
    assert counted["alexandra"] and not counted["mario"]


def test_the_reporter_s_download_route_serves_only_a_file_tied_to_a_reply_in_their_conversation(world):
    """/conversation/files/<id> for items that the reporter's own key would open, were they served:
    another conversation's reply file, a note and a person reported's item, each claiming to be
    tied to a reply, and the reporter's own report. Each is 404 and nothing of it is sent; the
    same file as a reply's in their own conversation downloads."""
    store = world["store"]
    _, mine, reporter = _report(world)
    other_client = FormClient(URL, in_process(world["site"]))
    _, form = open_report_form(other_client)
    other_client.submit(form, "Send the report", fill={"message": "Elsewhere."})
    other = next(c for c in store.conversations.inactive_since("9999-12-31") if c != mine)
    key = store.conversations.conversation(mine).reporter_key
    secret = b"the secret plan"

    def tied(conversation: str, origin: Origin, invitation: str | None = None) -> str:
        place = len([i for i in store.conversations.items(conversation) if i.origin == origin])
        staged = _stage(store, ItemMeta("file", "2024-05-01", name="plan.txt"), secret, [key],
                        Binding(conversation, origin, place))
        staged = dataclasses.replace(staged, proof=json.dumps({"attached_to": "f" * 32}))
        store.conversations.add_items(conversation, origin, [staged], invitation_id=invitation)
        return staged.id

    client, page = _respondent(world, _invite(world, mine))
    (invitation,) = store.invitations.of_conversation(mine)
    refused = [tied(other, Origin.TEAM), tied(mine, Origin.NOTE), tied(mine, Origin.RESPONDENT, invitation.id),
               tied(mine, Origin.TO_RESPONDENT, invitation.id), store.conversations.report(mine).id]
    for item_id in refused:
        answer = reporter.http.get(f"{URL}conversation/files/{item_id}")
        assert answer.status_code == 404 and secret not in answer.content, item_id
    served = reporter.http.get(f"{URL}conversation/files/{tied(mine, Origin.TEAM)}")
    assert served.status_code == 200 and served.content == secret
    # The person reported's session downloads nothing through the reporter's route.
    for item_id in refused:
        answer = client.http.get(f"{URL}conversation/files/{item_id}")
        assert answer.url.endswith("/login") and secret not in answer.content


HOSTILE_QUERIES = ["/?page=-1", "/?page=99999999999999999999999999", "/?page=abc&mine=1",
                   "/?mine=1&page=9223372036854775807", "/warnings/deletions?page=-99999999999999999999",
                   "/warnings/deletions?page=99999999999999999999999999", "/warnings/deletions?page=%00",
                   "/warnings/unread?after=" + "x" * 100_000, "/warnings/unread?after=%00%ff",
                   "/warnings/unread?after=../../etc", "/warnings/unread?after=", "/warnings/%00",
                   "/figures?year=-1", "/figures?year=99999999999999999999999999", "/figures?year=1e3",
                   "/figures?year=%00", "/figures?year=2026&year=1", "/conversations/%00/case",
                   "/conversations/" + "a" * 10_000 + "/invitations"]


def test_the_desk_s_new_pages_answer_hostile_addresses_in_words(world):
    _report(world)
    for path in HOSTILE_QUERIES:
        answer = world["desk"]["alexandra"].client.get(path)
        assert answer.status_code in (200, 404), (path, answer.status_code)
        assert "Traceback" not in answer.text and path[:200] not in answer.text


def test_every_new_post_without_its_token_changes_nothing(world):
    """The case, invitation, account and enrolment forms of the desk and the person reported's
    forms, posted without a CSRF token (as another site would): 400 and nothing changed."""
    store = world["store"]
    _, conversation, _ = _report(world)
    designation = _designation(world, conversation)
    _invite(world, conversation)
    (invitation,) = store.invitations.of_conversation(conversation)
    desk = world["desk"]["alexandra"].client
    path = f"/conversations/{designation}"
    for post, data in ((f"{path}/take", {}), (f"{path}/hand", {"to": "mario"}), (f"{path}/case", {"state": "closed"}),
                       (f"{path}/invitations", {"days": "5"}), (f"{path}/invitations/{invitation.id}/withdraw", {}),
                       ("/account/passphrase", {"passphrase-new": "x" * 30, "passphrase-again": "x" * 30}),
                       ("/account/authenticator", {}), ("/enrol", {"code": "a b c"}), ("/enrol/choose", {})):
        answer = desk.post(post, data=data)
        assert answer.status_code == 400, (post, answer.status_code)
    assert store.cases.handlers([conversation]) in ({}, {conversation: ()})
    assert store.cases.progress(conversation).state is None
    assert [i.withdrawn for i in store.invitations.of_conversation(conversation)] == [None]
    assert desk.get("/").status_code == 200  # still logged in: the passphrase did not change
    site = world["site"].test_client()
    for post in ("/respond/", "/respond/answer"):
        answer = site.post(post, data={"codename": "x", "message": "forged"})
        assert answer.status_code == 400, (post, answer.status_code)
    assert store.conversations.respondent_items(conversation) == 0


def test_a_conversation_holds_no_more_invitations_than_a_bundle_record_can_list(world, tmp_path):
    """A bundle record lists at most 255 invitations (FORMAT.md), and `keys open` refuses a
    bundle whose record lists more: one more invitation would make every reader's bundle
    unopenable. The desk refuses to make it, in words, and the export still opens."""
    from keys.bundle import MAX_INVITATIONS, BundleReader
    store = world["store"]
    _, conversation, _ = _report(world)
    for n in range(MAX_INVITATIONS):
        store.invitations.create(conversation, f"{n:064x}", PrivateKey.generate().public_key, b"t%d" % n, 30,
                                 "alexandra")
    answer = world["desk"]["alexandra"].invite(_designation(world, conversation))
    assert answer.status_code == 400 and "255 invitations" in answer.text
    assert 'id="codename"' not in answer.text
    assert len(store.invitations.of_conversation(conversation)) == MAX_INVITATIONS
    export_team(store, tmp_path / "export", everything=True)
    with open(tmp_path / "export" / "bahaa.odbx", "rb") as bundle:
        (record,) = [entry for entry, _ in BundleReader(bundle).records()]
    assert len(record.invitations) == MAX_INVITATIONS
