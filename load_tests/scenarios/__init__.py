"""Locust user classes of a morning rush: residents, data partners, enterprises, administrators."""
