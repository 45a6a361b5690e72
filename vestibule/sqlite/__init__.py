"""Django's SQLite backend, its connections kept between requests (see base.py)."""
