"""Every room's user-fixable error carries the one mark (``trust_tagger.errors.UserError``), so the
CLI boundary prints it as one line and Prefect's run logs drop its traceback; a bug does not."""

import importlib

import pytest

from trust_tagger.errors import UserError, user_errors

ROOM_ERRORS = [
    ("trust_tagger.config", "ConfigError"), ("trust_tagger.files", "LockTimeout"),
    ("trust_tagger.ingest.arxiv", "ArxivError"), ("trust_tagger.store.database", "StoreError"),
    ("trust_tagger.listfile.parse", "ListError"), ("trust_tagger.listfile.guard", "NotAListError"),
    ("trust_tagger.model.artifacts", "ModelIntegrityError"), ("trust_tagger.model.registry", "RegistryError"),
    ("trust_tagger.review.queue", "ReviewError"), ("trust_tagger.nightly.steps", "WindowError"),
    ("trust_tagger.delivery", "DeliveryError"), ("trust_tagger.simulate.workspace", "SimulationError"),
]


@pytest.mark.parametrize("module, name", ROOM_ERRORS)
def test_each_rooms_error_is_a_user_error(module, name):
    assert issubclass(getattr(importlib.import_module(module), name), UserError)


def test_a_bug_is_not_a_user_error_and_the_log_filter_keeps_its_traceback():
    import logging

    from flows._prefect import OneLineErrors

    assert not isinstance(KeyError("x"), user_errors()) and isinstance(FileNotFoundError("f"), user_errors())
    for exc, kept in ((KeyError("bug"), True), (UserError("fix me"), False)):
        record = logging.LogRecord("prefect.task_runs", logging.ERROR, __file__, 1, "failed", None,
                                   (type(exc), exc, None))
        assert OneLineErrors().filter(record) and (record.exc_info is not None) == kept
