"""``/login`` and ``/logout``: plain HTML forms (they work without JavaScript), dark like the wall.

Not a Dash page: the sign-in must work before any callback may run. Jinja autoescapes every value,
so a user name typed into the form comes back as text, never as markup. ``web/login.py`` serves it.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import render_template_string

from layouts.i18n import t

TEMPLATE = """<!DOCTYPE html>
<html lang="{{ html_lang }}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin">
<title>{{ heading }} · Watchfloor</title>
<link rel="icon" href="/_favicon.ico">
<link rel="stylesheet" href="/assets/login.css">
</head>
<body class="login-body">
<main class="login-page">
  <section class="login-card" aria-labelledby="login-heading">
    <div class="login-brand"><span class="login-mark" aria-hidden="true"></span>Watchfloor</div>
    <div class="login-org">{{ org }}</div>
    <h1 id="login-heading" class="login-title">{{ heading }}</h1>
    {% if subtitle %}<p class="login-subtitle">{{ subtitle }}</p>{% endif %}
    {% if message %}
    <p id="login-message" class="login-message login-message-{{ kind }}"
       role="{{ 'alert' if kind == 'error' else 'status' }}">{{ message }}</p>
    {% endif %}
    {% if form == "login" %}
    <form id="login-form" class="login-form" method="post" action="/login" autocomplete="on">
      <input type="hidden" name="csrf_token" value="{{ csrf }}">
      <input type="hidden" name="next" value="{{ next_path }}">
      <label class="login-label" for="login-username">{{ text["login.username"] }}</label>
      <input class="login-input" id="login-username" name="username" value="{{ username }}"
             autocomplete="username" autocapitalize="none" spellcheck="false" maxlength="64" required
             {% if not username %}autofocus{% endif %}>
      <label class="login-label" for="login-password">{{ text["login.password"] }}</label>
      <input class="login-input" id="login-password" name="password" type="password"
             autocomplete="current-password" maxlength="1024" required {% if username %}autofocus{% endif %}>
      <button class="login-button" id="login-submit" type="submit">{{ text["login.submit"] }}</button>
    </form>
    {% elif form == "logout" %}
    <form id="logout-form" class="login-form" method="post" action="/logout">
      <input type="hidden" name="csrf_token" value="{{ csrf }}">
      <button class="login-button" id="logout-submit" type="submit">{{ text["login.logout.submit"] }}</button>
    </form>
    {% elif form == "enter" %}
    <a class="login-button login-link" href="/wall">{{ text["login.open.enter"] }}</a>
    {% endif %}
    <p class="login-foot">{{ text["login.foot"] }}</p>
  </section>
</main>
</body>
</html>
"""


@dataclass(frozen=True)
class LoginView:
    """What the page shows: which form (``login``, ``logout``, ``enter`` or none) and which message."""

    form: str = "login"
    message: str = ""
    kind: str = "error"  # error | info
    username: str = ""
    next_path: str = "/"
    heading_key: str = "login.title"
    subtitle_key: str = "login.subtitle"


def render(lang: str, view: LoginView, csrf: str) -> str:
    """The HTML of the login (or logout) page in ``lang``; every value is escaped by Jinja."""
    text = {k: t(lang, k) for k in ("login.username", "login.password", "login.submit", "login.foot")}
    text |= {k: t(lang, k) for k in ("login.logout.submit", "login.open.enter")}
    return render_template_string(
        TEMPLATE,
        html_lang="zh-CN" if lang == "zh" else "en",
        org=t(lang, "wall.title"),
        heading=t(lang, view.heading_key),
        subtitle=t(lang, view.subtitle_key) if view.subtitle_key else "",
        message=view.message,
        kind=view.kind,
        form=view.form,
        username=view.username,
        next_path=view.next_path,
        csrf=csrf,
        text=text,
    )
