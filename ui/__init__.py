"""The web UI: templates and static assets only (package data, no logic); its pages come with the UI issue."""
