"""Residents' photos and rewards' pictures: upload, EXIF stripping, content-addressed storage, review
links and retention.

A resident backs a report with a photo (`POST /v1/me/photos`); the report that claims it is held for an
operator, who sees the photo through a link that lasts minutes. An enterprise uploads a reward's picture
(`POST /v1/enterprise/reward-images`), which anyone is served (`GET /v1/reward-images/{id}`). Invariants:
no stored image carries metadata (images.py re-encodes the pixels alone, upright); each content is stored
once, under its SHA-256, and deleted when no photo and no reward's picture refers to it; a photo of a
deleted resident is never served again and is deleted by the next retention pass, as is every photo older
than `photo_retention_days`; a reward's picture is kept.
Entry points: `uploads.upload_photo`; for the ingest domain `service.photo_for_report` and
`service.review_link`; `reward_images` (upload, serve, and `of_enterprise` and `url_of` for the redemption
domain); `retention.purge_once` (run by the privacy domain's retention pass); `personal` (a resident's photos erased or exported); the stores in storage.py and s3.py.
"""
