"""Entry point for gunicorn: `gunicorn wsgi:app`."""

import gc

from app import create_app

app = create_app()
# What the app holds for the worker's life (modules, the app, its mappers and
# settings) leaves the collector's generations: a collection then walks only
# what requests made.
gc.freeze()
