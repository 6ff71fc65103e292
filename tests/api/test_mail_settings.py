"""Admin routes for a project's mail settings, on both store engines."""

from __future__ import annotations

import httpx2

from baas.core.platform import Platform

URL = "/v1/admin/projects/demo/mail"
SMTP = {"host": "smtp.example.com", "port": 587, "security": "starttls",
        "username": "apikey", "password": "very-secret-smtp-password",
        "sender": "Demo <no-reply@demo.test>"}
VERIFY = {"subject": "Confirm $email for $project",
          "text": "Hi! Open $link within $expires.",
          "html": "<p><a href=\"$link\">Confirm</a> within $expires</p>"}


async def test_get_defaults(client: httpx2.AsyncClient, admin: dict[str, str],
                            project: dict) -> None:
    response = await client.get(URL, headers=admin)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["smtp"] is None
    assert set(body["templates"]) == {"verify_email", "reset_password"}
    for template in body["templates"].values():
        assert template["custom"] is False
        assert "$link" in template["text"] and "$link" in template["html"]
        assert template["subject"]


async def test_put_then_get(client: httpx2.AsyncClient, admin: dict[str, str], project: dict,
                            platform: Platform) -> None:
    response = await client.put(URL, json={"smtp": SMTP, "templates": {"verify_email": VERIFY}},
                                headers=admin)
    assert response.status_code == 200, response.text
    assert "very-secret-smtp-password" not in response.text
    response = await client.get(URL, headers=admin)
    assert response.status_code == 200
    assert "very-secret-smtp-password" not in response.text
    body = response.json()
    assert body["smtp"] == {"host": "smtp.example.com", "port": 587, "security": "starttls",
                            "username": "apikey", "sender": "Demo <no-reply@demo.test>",
                            "has_password": True}
    assert body["templates"]["verify_email"] == {**VERIFY, "custom": True}
    assert body["templates"]["reset_password"]["custom"] is False
    config = await platform.project_mail("demo").smtp()
    assert config is not None and config.password == "very-secret-smtp-password"

    # Omitting the password keeps it; omitting templates keeps them.
    smtp = {k: v for k, v in SMTP.items() if k != "password"}
    response = await client.put(URL, json={"smtp": {**smtp, "port": 2587}}, headers=admin)
    assert response.status_code == 200, response.text
    assert response.json()["smtp"]["has_password"] is True
    assert response.json()["smtp"]["port"] == 2587
    assert response.json()["templates"]["verify_email"]["custom"] is True
    # null removes the override and resets a template.
    response = await client.put(URL, json={"smtp": None, "templates": {"verify_email": None}},
                                headers=admin)
    assert response.status_code == 200, response.text
    assert response.json()["smtp"] is None
    assert response.json()["templates"]["verify_email"]["custom"] is False


async def test_bad_template_lists_every_problem(client: httpx2.AsyncClient,
                                                admin: dict[str, str], project: dict) -> None:
    bad = {"subject": "x" * 201, "text": "no link here, only $token", "html": ""}
    response = await client.put(URL, json={"smtp": None, "templates": {
        "verify_email": bad, "welcome": VERIFY}}, headers=admin)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_template"
    assert [e["field"] for e in error["details"]["errors"]] == [
        "templates.verify_email.text", "templates.verify_email.subject",
        "templates.verify_email.text", "templates.welcome"]
    assert "$token" in error["details"]["errors"][0]["message"]
    assert "$link" in error["details"]["errors"][0]["message"]  # the allowed ones are listed
    # Nothing was stored.
    response = await client.get(URL, headers=admin)
    assert response.json()["templates"]["verify_email"]["custom"] is False


async def test_bad_bodies(client: httpx2.AsyncClient, admin: dict[str, str],
                          project: dict) -> None:
    cases = [
        ({"templates": {}}, "validation_failed"),  # smtp is required (null for none)
        ({"smtp": {**SMTP, "port": "25"}}, "validation_failed"),
        ({"smtp": {**SMTP, "security": "ssl"}}, "validation_failed"),
        ({"smtp": {**SMTP, "extra": 1}}, "validation_failed"),
        ({"smtp": None, "templates": {"verify_email": {"subject": "s"}}}, "validation_failed"),
        ({"smtp": {**SMTP, "sender": "a@b.test\r\nBcc: c@d.test"}}, "invalid_smtp"),
        ({"smtp": {**SMTP, "host": "smtp.example.com:25"}}, "invalid_smtp"),
    ]
    for body, code in cases:
        response = await client.put(URL, json=body, headers=admin)
        assert response.status_code == 422, (body, response.text)
        assert response.json()["error"]["code"] == code, body
        assert response.json()["error"]["details"]["errors"], body


async def test_callers_that_are_not_admins(client: httpx2.AsyncClient, admin: dict[str, str],
                                           project: dict) -> None:
    publishable = project["keys"][0]["secret"]
    secret = project["keys"][1]["secret"]
    for headers in ({}, {"apikey": publishable}, {"Authorization": f"Bearer {secret}"},
                    {"Authorization": "Bearer not-a-token"}):
        for method in ("GET", "PUT"):
            response = await client.request(method, URL, headers=headers,
                                            json={"smtp": SMTP})
            assert response.status_code in (401, 403), (headers, response.text)
    # Nothing changed.
    response = await client.get(URL, headers=admin)
    assert response.json()["smtp"] is None


async def test_unknown_project(client: httpx2.AsyncClient, admin: dict[str, str]) -> None:
    for url in ("/v1/admin/projects/nope/mail", "/v1/admin/projects/NOT_VALID/mail"):
        response = await client.get(url, headers=admin)
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "project_not_found"
        response = await client.put(url, json={"smtp": None}, headers=admin)
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "project_not_found"
