"""The project: what composes the apps into one site (URLs, the dashboard).

The core app (``snportal``) and the product apps (``nodes``, ``images``, ``consoles``,
``hierarchy``) never import this package; it imports them.
"""
