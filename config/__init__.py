"""The project: what composes the apps into one site.

Settings (``settings.py``; the embedded database, ``embedded_db.py``), URLs (``urls.py``;
``urls_service.py`` on a service node), the WSGI entry point, ``make run``'s launcher and
the dashboard page, which counts what several apps hold. The core app (``snportal``) and
the product apps never import this package; it imports them (``.importlinter``). It is an
app only for its management command ``stopdb``.
"""
