"""经济运行监测 economic monitoring: indicators, vintages, growth, seasonal adjustment, alerts."""
