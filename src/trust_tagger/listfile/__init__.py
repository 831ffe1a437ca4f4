"""The awesome list's markdown files: parse both layouts (``parse``), merge new lines in the list's own
format (``merge``), and the index the review screens use for taxonomy and duplicates (``index``)."""
