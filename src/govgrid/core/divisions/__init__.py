"""行政区划 divisions (块): the GB/T 2260 tree extended to township, village and grid cell."""
