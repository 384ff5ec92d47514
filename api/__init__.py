"""The FastAPI service: app factory, routes per resource, auth and roles, limits, one error shape."""
