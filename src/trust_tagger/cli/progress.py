"""Progress bars on stderr for the long verbs (classify, train, retrain): stdout stays for results."""

from __future__ import annotations

import contextlib

from rich.console import Console

err = Console(stderr=True)


@contextlib.contextmanager
def progress_bar(description: str, total: int):
    """A rich progress bar; yields advance(n)."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  TimeRemainingColumn(), console=err, transient=False) as bar:
        task = bar.add_task(description, total=total)
        yield lambda n=1: bar.advance(task, n)


class StagedProgress:
    """progress(stage, done, total) callback for training: one bar per stage."""

    def __init__(self):
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                            console=err)
        self.tasks: dict[str, int] = {}

    def __call__(self, stage: str, done: int, total: int) -> None:
        if stage not in self.tasks:
            self.tasks[stage] = self.bar.add_task(stage, total=total)
        self.bar.update(self.tasks[stage], completed=done, total=total)

    def __enter__(self):
        self.bar.__enter__()
        return self

    def __exit__(self, *a):
        return self.bar.__exit__(*a)
