"""The catalogue of lines with stable codes (sort order is the order of the home-page matrix)."""

from __future__ import annotations

LINES: list[tuple[str, str, str]] = [
    ("government", "人民政府办公室", "Government office"),
    ("development_reform", "发展和改革", "Development and reform"),
    ("finance", "财政", "Finance"),
    ("tax", "税务", "Taxation"),
    ("audit", "审计", "Audit"),
    ("statistics", "统计", "Statistics"),
    ("market_regulation", "市场监督管理", "Market regulation"),
    ("education", "教育", "Education"),
    ("health", "卫生健康", "Health"),
    ("human_resources", "人力资源和社会保障", "Human resources and social security"),
    ("medical_security", "医疗保障", "Medical security"),
    ("civil_affairs", "民政", "Civil affairs"),
    ("administrative_approval", "行政审批", "Administrative approval"),
    ("urban_management", "城市管理", "Urban management"),
    ("ecology_environment", "生态环境", "Ecology and environment"),
    ("natural_resources", "自然资源", "Natural resources"),
    ("forestry", "林业", "Forestry"),
    ("water_resources", "水利", "Water resources"),
    ("agriculture", "农业农村", "Agriculture and rural affairs"),
    ("housing", "住房和城乡建设", "Housing and urban-rural development"),
    ("transport", "交通运输", "Transport"),
    ("public_security", "公安", "Public security"),
    ("emergency", "应急管理", "Emergency management"),
    ("discipline_inspection", "纪委监委", "Discipline inspection and supervision"),
    ("data_management", "数据管理局", "Data management bureau"),
    ("petition", "信访", "Letters and visits"),
    ("hotline_12345", "12345热线", "12345 hotline centre"),
]
