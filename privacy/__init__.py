"""corpuscope.privacy — see DESIGN.md; built in a later issue."""
