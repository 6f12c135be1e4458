"""The statistics page: volume, success rate and status mix per currency, from rollups."""
