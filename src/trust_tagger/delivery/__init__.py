"""Getting a night's result to the maintainers: the merged lines as a commit and a GitHub pull
request (``gitrepo``, ``github``, ``publish``), and the digest as a message (``notify``).

This room takes plain values (paths, files, markdown text) and knows nothing about the store or the
nightly steps, so the nightly run (``nightly/run.py``) and the ``merge`` verb share it.
"""

from trust_tagger.errors import UserError


class DeliveryError(UserError, RuntimeError):
    """The list checkout, its remote or GitHub refused the delivery; the message says what to fix."""
