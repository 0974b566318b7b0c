"""The benchmark runner behind `rtswap bench` and its config."""
