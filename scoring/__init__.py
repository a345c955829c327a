"""The shared scoring module: pure functions over plain data. No I/O, no imports from the rest of kpibot."""
