"""Ways in and out: one module per WeCom channel."""
