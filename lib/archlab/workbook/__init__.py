"""Notebook runner (papermill), results page and report rendering."""
