"""A case's page and the figures speak the responder's language: a responder who chose Arabic,
Spanish or French reads who handles the case, its state (the code of practice's words in that
language), the buttons and the figures' headings in it, in a page whose `lang` and `dir` say so.
Through Flask's test client, with the case fixture of test_case_status.
"""
from __future__ import annotations

import re

import pytest
from markupsafe import escape

from test_case_status import case  # noqa: F401 - the fixture

# Words each page shows in each language, and English words none of them may still show.
WORDS = {
    "ar": {"case": ["القضية", "من يتولّاها", "تحديد الحالة", "تسليم القضية"],
           "figures": ["الأرقام لعام", "فُتحت", "وسيط الأيام حتى أول رد", "السنة كلها"]},
    "es": {"case": ["El caso", "Quién lo lleva", "Fijar el estado", "Pasarlo"],
           "figures": ["Cifras de", "Abiertas", "Mediana de días hasta la primera respuesta", "Todo el año"]},
    "fr": {"case": ["Le dossier", "Indiquer où en est le dossier", "Le confier", "Pris en charge par"],
           "figures": ["Chiffres de", "Ouvertes", "Supprimées", "la première réponse"]},
}
ENGLISH = {"case": ["The case", "Who handles it", "Set the state", "Hand it over", "Received",
                    "Where the case stands", "the reporter"],
           "figures": ["Figures for", "median days", "opened", "What the server counts", ">year<"]}


def _html_tag(page: str) -> str:
    found = re.search(r"<html[^>]*>", page)
    assert found is not None
    return found.group(0)


@pytest.mark.parametrize("language", sorted(WORDS))
def test_the_case_and_figures_pages_speak_the_responder_s_language(case, language):  # noqa: F811
    _, desks, designation, _ = case
    take = desks["alexandra"].client
    assert take.post(f"/conversations/{designation}/take",
                     data={"csrf_token": _token(take)}).status_code == 302
    bahaa = desks["bahaa"].client  # a reader too, who chooses a language on the desk
    bahaa.get(f"/language/{language}")
    app = take.application
    practice = app.extensions["dropbox"].config.practice
    direction = "rtl" if language == "ar" else "ltr"
    pages = {"case": bahaa.get(f"/conversations/{designation}/case").text,
             "figures": bahaa.get("/figures").text}
    for name, page in pages.items():
        assert _html_tag(page) == f'<html lang="{language}" dir="{direction}">', name
        for word in WORDS[language][name]:
            assert word in page, (name, word)
        for word in ENGLISH[name]:
            assert word not in page, (name, word)
    for state in practice.case_states:  # the team's own words, in the responder's language
        assert str(escape(state(language))) in pages["case"]
        assert str(escape(state.english)) not in pages["case"]
    refused = bahaa.post(f"/conversations/{designation}/hand",
                         data={"csrf_token": _token(bahaa), "to": "mario"})
    assert refused.status_code == 400 and "Only another reader" not in refused.text
    assert {"ar": "لم يتغيّر شيء", "es": "no se cambió nada", "fr": "a été modifié"}[language] in refused.text


def _token(client) -> str:
    found = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', client.get("/").text)
    assert found is not None
    return found.group(1)

