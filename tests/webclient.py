"""Helpers for tests that talk to the web app through Flask's test client like a browser does.

A browser gets its CSRF token (cookie ``_csrf_token``) with its first page and Dash's renderer sends it
back in the ``X-CSRFToken`` header of every callback; :func:`csrf_client` does the same.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from web.security import CSRF_COOKIE

CALLBACK = "/_dash-update-component"


def csrf_token(client: FlaskClient) -> str:
    """The CSRF token the client's cookies hold (fetching a page first when it has none)."""
    cookie = client.get_cookie(CSRF_COOKIE)
    if cookie is None:
        client.get("/login")
        cookie = client.get_cookie(CSRF_COOKIE)
    assert cookie is not None, "the app set no CSRF cookie"
    return cookie.value


def csrf_client(server: Flask, **environ: Any) -> FlaskClient:
    """A test client that sends the CSRF header with every request, as Dash's renderer does."""
    client = server.test_client()
    client.environ_base.update(environ)
    client.environ_base["HTTP_X_CSRFTOKEN"] = csrf_token(client)
    return client


def form_token(html: str) -> str:
    """The ``csrf_token`` hidden field of a form page."""
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no csrf_token field in the page"
    return match.group(1)


def sign_in(client: FlaskClient, name: str, password: str, next_path: str = "/") -> TestResponse:
    """Fill in and send the login form, as a person would."""
    token = form_token(client.get("/login").get_data(as_text=True))
    return client.post(
        "/login", data={"username": name, "password": password, "csrf_token": token, "next": next_path}
    )
