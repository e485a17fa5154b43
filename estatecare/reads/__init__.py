"""Reads in one place: what staff pages and the API show, each a query and the shape it fills."""
