"""Profitability: the cost model, profit per client × service line × month, what-if re-rating."""

from revloop.services.profit.report import ProfitReport, margin_findings, report

__all__ = ["ProfitReport", "margin_findings", "report"]
