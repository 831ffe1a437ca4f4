"""The maintainers' review: queue (``queue``), decisions (``decisions``), label export (``export``),
and the two screens over them, ``tui`` (terminal) and ``web`` (FastAPI page).

The screens are thin shells over the three library modules, so ordering, validation, conflicts and
the audit trail behave the same whichever way a maintainer comes in. This package namespace
re-exports the library API the screens and scripts use (``review.load_queue``, ``review.decide``…).
"""

from trust_tagger.listfile.index import ListIndex, list_files, load_list_index
from trust_tagger.review.decisions import (
                                           ACTIONS,
                                           LABEL_ACTIONS,
                                           REVIEWER_PREFIX,
                                           BulkResult,
                                           Outcome,
                                           clean_reviewer,
                                           decide,
                                           decide_each,
                                           promote,
                                           revertible,
)
from trust_tagger.review.export import audit_log, decision_records, export_decisions
from trust_tagger.review.queue import (
                                           DECIDED_STATUSES,
                                           QUEUE_STATES,
                                           Conflict,
                                           QueueFilter,
                                           ReviewError,
                                           ReviewPaper,
                                           adjacent_papers,
                                           decided_papers,
                                           get_paper,
                                           load_queue,
                                           next_in_queue,
                                           order_queue,
)
from trust_tagger.routing import review_priority

__all__ = ["ACTIONS", "DECIDED_STATUSES", "LABEL_ACTIONS", "QUEUE_STATES", "REVIEWER_PREFIX", "BulkResult",
           "Conflict", "ListIndex", "Outcome", "QueueFilter", "ReviewError", "ReviewPaper", "adjacent_papers",
           "audit_log", "clean_reviewer", "decide", "decide_each", "decided_papers", "decision_records",
           "export_decisions", "get_paper", "list_files", "load_list_index", "load_queue", "next_in_queue",
           "order_queue", "promote", "review_priority", "revertible"]
