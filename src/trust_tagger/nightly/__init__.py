"""The nightly job: its steps (``steps``), the run lifecycle (``run.run_nightly``), the classifier it
uses (``classifier``) and what it reports (``report``, ``digest``)."""
