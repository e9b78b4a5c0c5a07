"""Risk analytics core (numpy, pandas, SciPy, statsmodels, PySAL).

This package never imports Django: it runs from the command line on files and is
called by the web app. See docs/risk-method.md once the risk engine lands.
"""
