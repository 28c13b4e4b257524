"""City map (城市管理一张图): GB/T 30428 grid and parts, events from every source, the case loop, field units
and dispatch, cameras, the live map and OGC API Features."""
