"""A responder's bundle always lets them reply to what it holds, and the desk's "new" is each
responder's own.

`keys reply` checks the reply's reporter key against the conversation's report, so a bundle
holding a conversation without its report (a reply a colleague sent since the last export)
could not be answered. Every bundle that holds a conversation holds its report. And a
command-line export is not a download by every responder: the desk's "new" moves only with a
responder's own downloads.
"""
from __future__ import annotations

from conftest import dropbox
from deskclient import add_user
from dropbox.config import Config
from dropbox.desk.app import create_desk_app
from dropbox.storage import Store
from stored import _conversation
from test_desk_figures import Responder


def _store(instance) -> Store:
    config = Config.load(instance)
    store = Store(config.database, config.store_dir, config.tmp_dir)
    store.prepare()
    return store


def test_a_bundle_holding_only_a_colleagues_reply_still_lets_a_responder_reply(instance, airgap, tmp_path):
    store = _store(instance)
    conversation = _conversation(store, 0, tuple(store.team.members()), None)
    dropbox("export", "--data", instance, "--out", tmp_path / "first")
    airgap.reply(tmp_path / "first" / "alexandra.odbx", conversation, "alexandra", "We read it.",
                 tmp_path / "alexandra-reply.odbx")
    dropbox("import-replies", tmp_path / "alexandra-reply.odbx", "--data", instance)

    # What is new since the first export is alexandra's reply; mario never opened the first.
    dropbox("export", "--data", instance, "--out", tmp_path / "second")
    said = airgap.reply(tmp_path / "second" / "mario.odbx", conversation, "mario", "Me too.",
                        tmp_path / "mario-reply.odbx", check=False)
    assert said.code == 0, said.err
    assert "stored 1" in dropbox("import-replies", tmp_path / "mario-reply.odbx", "--data", instance).out


def test_my_bundle_holding_only_a_new_reply_still_holds_the_report(instance, airgap, tmp_path):
    logins = {name: add_user(instance, name) for name in ("alexandra", "bahaa")}
    app = create_desk_app(Config.load(instance))
    store = app.extensions["dropbox"].store
    conversation = _conversation(store, 0, tuple(store.team.members()), None)
    bahaa = Responder(app, logins["bahaa"])
    assert bahaa.client.get("/bundle").status_code == 200  # takes the report
    (tmp_path / "everything.odbx").write_bytes(Responder(app, logins["alexandra"]).client.get("/bundle").data)
    airgap.reply(tmp_path / "everything.odbx", conversation, "alexandra", "Thank you.", tmp_path / "r.odbx")
    dropbox("import-replies", tmp_path / "r.odbx", "--data", instance)

    (tmp_path / "new.odbx").write_bytes(bahaa.client.get("/bundle").data)  # alexandra's reply is new
    said = airgap.reply(tmp_path / "new.odbx", conversation, "bahaa", "And from me.",
                        tmp_path / "bahaa-reply.odbx", check=False)
    assert said.code == 0, said.err


def test_a_command_line_export_does_not_move_what_is_new_on_the_desk(instance, tmp_path):
    logins = {"bahaa": add_user(instance, "bahaa")}
    app = create_desk_app(Config.load(instance))
    store = app.extensions["dropbox"].store
    _conversation(store, 0, tuple(store.team.members()), None)
    bahaa = Responder(app, logins["bahaa"])
    assert '<td class="status" data-label="Status">new' in bahaa.page()
    dropbox("export", "--data", instance, "--out", tmp_path / "export")
    assert '<td class="status" data-label="Status">new' in bahaa.page()
    assert bahaa.client.get("/bundle").status_code == 200
    assert '<td class="status" data-label="Status">downloaded' in bahaa.page()
