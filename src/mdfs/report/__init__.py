"""What a run kept and removed: report.json for programs, report.html for people."""
