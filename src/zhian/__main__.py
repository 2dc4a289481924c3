"""`python -m zhian`: the same as the `zhian` command."""

from zhian.cli.main import app

app()
