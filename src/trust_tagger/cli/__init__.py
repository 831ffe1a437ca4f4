"""The ``trust-tagger`` command. Each area registers its verbs from its own module; every verb is
then wrapped by the one error boundary (``cli/errors.py``)."""

from __future__ import annotations

import typer

from trust_tagger.cli import model as cli_model
from trust_tagger.cli import pipeline as cli_pipeline
from trust_tagger.cli import retrain as cli_retrain
from trust_tagger.cli import review as cli_review
from trust_tagger.cli import simulate as cli_simulate
from trust_tagger.cli.errors import wrap_commands
from trust_tagger.cli.options import VersionOpt

app = typer.Typer(help="Find trustworthy-audio-AI papers on arXiv, tag them, and merge them into the awesome list.",
                  no_args_is_help=True, add_completion=False)



@app.callback()
def main(version: VersionOpt = False) -> None:
    """Find trustworthy-audio-AI papers on arXiv, tag them, and merge them into the awesome list."""


for area in (cli_pipeline, cli_model, cli_review, cli_retrain, cli_simulate):
    area.register(app)
wrap_commands(app)
