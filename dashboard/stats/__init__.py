"""The statistics page: volume, success rate and status mix per currency, from rollups."""

from dashboard.stats.routes import bp

__all__ = ["bp"]
