"""Using trained generators: `inference` (stylise images of any size, tiled), `signatures` (the
in-graph serving functions), `export` (SavedModels for TF Serving) and `verification`."""
