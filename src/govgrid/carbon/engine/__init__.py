"""Pure wetland carbon computation: stock, remote sensing, LiDAR, soil, methodologies, Monte Carlo, reports."""
