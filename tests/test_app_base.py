"""Both web apps stand on one base (dropbox/webapp.py): each security step holds on each.

In-process (Flask's test client): what is tested is the apps' make-up, not the server.
"""
from __future__ import annotations

import io

import pytest

from dropbox.app import create_app
from dropbox.config import Config
from dropbox.desk.app import create_desk_app
from dropbox.headers import HEADERS
from dropbox.server import _disk_budget, _intake
from dropbox.storage import Store
from onion.service_key import ServiceKey

APPS = {"site": (create_app, "/", "/start"), "desk": (create_desk_app, "/login", "/login")}


@pytest.fixture
def config(instance) -> Config:
    config = Config.load(instance)
    Store(config.database, config.store_dir, config.tmp_dir).prepare()
    return config


@pytest.mark.parametrize("service", APPS)
def test_every_page_of_either_app_carries_the_strict_headers(config, service):
    create, page, _ = APPS[service]
    response = create(config).test_client().get(page)
    assert response.status_code == 200
    for name, value in HEADERS.items():
        assert response.headers.get(name) == value, name


@pytest.mark.parametrize("service", APPS)
def test_a_post_without_its_form_token_is_refused_by_either_app(config, service):
    create, _, form = APPS[service]
    response = create(config).test_client().post(form, data={"codename": "a b c"})
    assert response.status_code == 400
    assert b"has expired or did not come from this site" in response.data


@pytest.mark.parametrize("service", APPS)
def test_either_app_answers_a_gateway_with_its_own_address_not_its_pages(config, service):
    create, page, _ = APPS[service]
    own = ServiceKey.load(config.onion_key_file(service)).address
    client = create(config).test_client()
    refused = client.get(page, headers={"Host": "example.onion.to"})
    assert refused.status_code == 403
    assert own.encode() in refused.data
    assert client.get(page, headers={"Host": own}).status_code == 200


# The pages whose forms carry files, as a user finds them: the report, a follow-up, the person
# reported's response, and the reply files a responder uploads on the desk.
PAGES_TAKING_FILES = {"site": {"/report", "/conversation", "/respond/answer"}, "desk": {"/replies"}}


@pytest.mark.parametrize("service", APPS)
def test_the_channel_streams_every_page_that_takes_files_and_no_other(config, service):
    """Each view taking files declares it beside itself (`formlimits.takes_files`); the server
    gathers them for its channel, which lets only those paths carry a large body."""
    create, _, form = APPS[service]
    app = create(config)
    intake = _intake(app, config, _disk_budget(config))
    assert intake.file_paths == PAGES_TAKING_FILES[service]
    # In the app too (without the channel): only those pages read a body larger than a form's text.
    def large():
        return {"files": (io.BytesIO(b"x" * (config.settings.max_form_text_bytes + 1)), "notes.txt")}
    client = app.test_client()
    assert client.post(form, data=large(), content_type="multipart/form-data").status_code == 413
    for page in PAGES_TAKING_FILES[service]:
        assert client.post(page, data=large(), content_type="multipart/form-data").status_code != 413, page
