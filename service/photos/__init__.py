"""Residents' photos: upload, EXIF stripping, content-addressed storage, review links and retention."""
