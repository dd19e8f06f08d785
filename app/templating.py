"""Jinja's environment, with each template's globals a plain dict.

Jinja 3 gives every template a ChainMap over the environment's globals, so
that a global added after a template was loaded is still seen by it. The
price is paid in Python on every page: each render copies the globals key
by key into its context (about 10 µs with Plenary's 43 globals), and each
`{% from ... import ... %}` compares the importing template's globals with
the imported one's key by key (about 25 µs; a member's proposal page makes
five imports). Plenary adds its globals while the app is made, before any
template is loaded (`create_app`, the blueprints' `app_template_global`,
Flask-WTF's `csrf_token`), so each template takes a dict: the same names,
copied and compared in C.
"""

from flask.templating import Environment


class TemplateEnvironment(Environment):
    def make_globals(self, d):
        return {**self.globals, **(d or {})}
