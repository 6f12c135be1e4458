"""The web layer: blueprints, the JSON API, error pages and the request hooks they share."""
