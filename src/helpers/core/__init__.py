"""The core layer: everything a notebook needs that knows no paper. It never imports an experiment."""
