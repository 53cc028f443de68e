"""Both web apps stand on one base (dropbox/webapp.py): each security step holds on each.

In-process (Flask's test client): what is tested is the apps' make-up, not the server.
"""
from __future__ import annotations

import pytest

from dropbox.app import create_app
from dropbox.config import Config
from dropbox.desk.app import create_desk_app
from dropbox.headers import HEADERS
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
