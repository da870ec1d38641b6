"""xCAT's text formats as pure Python: no Django, no database, no product app.

``xcat.noderange`` is the noderange grammar (expand and compress against an inventory the
caller passes in); ``xcat.stanza`` reads and writes ``lsdef -z`` stanza files. Both are
used by the core (``snportal``) and by product apps, and by tools that must not start
Django, so they live apart from every app; ``tests/test_xcat_pure.py`` imports them with
Django made unimportable.
"""
