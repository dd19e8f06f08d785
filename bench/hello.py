"""The ceiling: a minimal Flask app returning a short string.

Served by the same gunicorn settings as Plenary in `make bench`, so each
Plenary page's requests/s can be read as a share of what Flask itself does
on this machine.
"""

from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello():
    return "Hello, Plenary!"
