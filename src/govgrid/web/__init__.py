"""Web shell: base templates, static assets from pip packages, login and the home page."""
