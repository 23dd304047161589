"""Scripted evaluation: datasets, metrics and reports."""
