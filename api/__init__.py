"""corpuscope.api — see DESIGN.md; built in a later issue."""
