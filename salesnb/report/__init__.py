"""Reports out: what notebooks and the runner use to show and ship results: escaped tables
(``display``), the chart style (``plots``), KPI records (``kpis``), the notebook header
(``notebook``) and the runner that executes notebooks into shareable HTML (``runner``).
"""
