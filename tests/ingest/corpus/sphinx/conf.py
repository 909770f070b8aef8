project = "Tiny Packaging"
author = "RAGstream tests"
extensions: list[str] = []
html_theme = "alabaster"
