"""The store: schema (``schema``) and :class:`~trust_tagger.store.store.Store`, the only owner of SQL."""
