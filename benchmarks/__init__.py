"""Benchmarks of skgap. asv (asv.conf.json) imports this folder as a package."""
