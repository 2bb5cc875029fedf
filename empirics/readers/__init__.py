"""What a results folder holds and what is read from it: run folders, the verified records, metrics,
summary, statistics, claims, audit, findings, figures and the packed reference. No torch; nothing trains."""
