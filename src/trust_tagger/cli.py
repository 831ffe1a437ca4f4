"""The ``trust-tagger`` command. Each area registers its verbs from its own module."""

from __future__ import annotations

import typer

from trust_tagger import cli_model, cli_pipeline, cli_retrain, cli_review

app = typer.Typer(help="Find trustworthy-audio-AI papers on arXiv, tag them, and merge them into the awesome list.",
                  no_args_is_help=True, add_completion=False)

for area in (cli_pipeline, cli_model, cli_review, cli_retrain):
    area.register(app)
