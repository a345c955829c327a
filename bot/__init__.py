"""kpibot's edges: platform adapters, the web app, the CLI and the process that runs them."""
