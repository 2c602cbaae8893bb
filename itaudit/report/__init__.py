"""Reports: figures computed once from the store (`figures.py`, `ratios.py`,
`indicators.py`) and renderers that only format them (`render.py` holds the
shared Jinja2 environment and file helpers; templates are in `templates/`).
"""
