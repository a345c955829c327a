"""Platform-neutral use cases: one module per user action. Never imports a platform SDK."""
