# app.py — the functions t/e2e-deliver.bats calls in one VM (issue 15): an
# app of several function entrypoints, an env literal, an args_schema.
import os

MARKER = "/tmp/mvm-deliver-marker"


def greet(name):
    return "hello, " + name


def env(name):
    return os.environ.get(name)


def mark(name):
    # under args_schema: a call that breaks it never gets here
    with open(MARKER, "w") as f:
        f.write(name)
    return "marked " + name


def marked():
    return os.path.exists(MARKER)


def boom():
    raise ValueError("boom from the function")
