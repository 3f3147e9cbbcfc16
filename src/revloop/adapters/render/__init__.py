"""Documents: invoices as PDF (HTML/CSS templates) and Excel (a customer's own workbook), and the
monthly billing report as PDF, XLSX and CSV."""
