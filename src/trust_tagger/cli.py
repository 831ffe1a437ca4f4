"""The ``trust-tagger`` command. Each area registers its verbs from its own module."""

from __future__ import annotations

import typer

app = typer.Typer(help="Find trustworthy-audio-AI papers on arXiv, tag them, and merge them into the awesome list.",
                  no_args_is_help=True, add_completion=False)

from trust_tagger import cli_pipeline  # noqa: E402

cli_pipeline.register(app)
from trust_tagger import cli_review; cli_review.register(app)
from trust_tagger import cli_model; cli_model.register(app)
from trust_tagger import cli_retrain; cli_retrain.register(app)
