"""Run outputs for people and tools: OCSF findings, the self-contained HTML report, posture and its trend."""
