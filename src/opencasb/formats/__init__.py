"""How audit records are laid out in bytes, below every layer that reads them.

``records``: a page of records kept as the JSON text of each (what the HTTP client returns
and the ingest pipeline stores). ``exports``: the pieces an app's file importer is built from
(gzip, byte-order marks, JSON lines and documents). Both ``opencasb.http`` and
``opencasb.apps`` import these; this package imports neither.
"""
