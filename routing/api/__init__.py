"""The HTTP interface: JSON API under /api/, Open311 GeoReport v2 under /open311/v2/."""
