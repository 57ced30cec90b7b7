"""Registered sites (stations, stops, docks, recycling stations, venue gates) and the signed codes they show."""
